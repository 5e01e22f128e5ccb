import Foundation
import Shared

/// GitHub Actions workflow commands and the job summary, used when `GITHUB_ACTIONS=true`: a log group per
/// phase, `::warning::`/`::error::` annotations, and a Markdown table appended to `$GITHUB_STEP_SUMMARY`.
struct GitHubActions {
    /// Where the job summary goes, when GitHub provides one.
    let summaryFile: String?

    /// The GitHub Actions context of this process, or nil when not running in a workflow.
    static func detect(environment: [String: String] = ProcessInfo.processInfo.environment) -> GitHubActions? {
        guard environment["GITHUB_ACTIONS"] == "true" else { return nil }
        return GitHubActions(summaryFile: environment["GITHUB_STEP_SUMMARY"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// `::group::TITLE`.
    func group(_ title: String) -> String { "::group::" + Self.escape(title) }

    /// `::endgroup::`.
    var endGroup: String { "::endgroup::" }

    /// `::warning::MESSAGE`.
    func warning(_ message: String) -> String { "::warning::" + Self.escape(message) }

    /// `::error::MESSAGE`.
    func error(_ message: String) -> String { "::error::" + Self.escape(message) }

    /// Appends a Markdown summary of a deploy's result to the job summary.
    func writeSummary(target: String, result: Event.Result, phases: [(name: String, state: String, seconds: Double)]) {
        guard let summaryFile else { return }
        // Every string from the agent goes through `markdown`: inert, on its own table cell, in the summary.
        var lines = ["### shipkeep: " + (result.ok ? "deployed ✅" : "deploy failed ❌"), ""]
        lines.append("| | |")
        lines.append("|---|---|")
        lines.append("| target | `\(Self.markdown(target))` |")
        if let deploy = result.deploy {
            let commit = { (id: String?) in Self.markdown(id.map { String($0.prefix(12)) } ?? "?") }
            lines.append("| app | `\(Self.markdown(deploy.app))` |")
            lines.append("| deploy | `\(Self.markdown(deploy.deploy))` |")
            lines.append("| commit | `\(commit(deploy.previousCommit))` → `\(commit(deploy.liveCommit))`"
                + (deploy.commit != deploy.liveCommit ? " (asked for `\(commit(deploy.commit))`)" : "") + " |")
            lines.append("| outcome | \(Self.markdown(deploy.outcome.replacingOccurrences(of: "_", with: " "))) |")
            if let snapshot = deploy.snapshot {
                lines.append("| snapshot | `\(Self.markdown(snapshot.id))`: \(snapshot.files) files, "
                    + "\(ByteCount.format(snapshot.bytes)); \(snapshot.linked) linked, \(snapshot.copied) copied "
                    + "(\(ByteCount.format(snapshot.copiedBytes))) |")
            }
            lines.append("| data repairs | \(deploy.repairs) |")
            lines.append("| duration | \(String(format: "%.1f", deploy.seconds)) s |")
        }
        if let error = result.error { lines.append("| error | \(Self.markdown(error.message)) |") }
        if !phases.isEmpty {
            lines += ["", "| phase | state | seconds |", "|---|---|---|"]
            lines += phases.map {
                "| \(Self.markdown($0.name)) | \(Self.markdown($0.state)) | \(String(format: "%.1f", $0.seconds)) |"
            }
        }
        let text = lines.joined(separator: "\n") + "\n\n"
        guard let handle = FileHandle(forWritingAtPath: summaryFile) ?? {
            _ = FileManager.default.createFile(atPath: summaryFile, contents: nil)
            return FileHandle(forWritingAtPath: summaryFile)
        }() else { return }
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        try? handle.close()
    }

    /// A workflow command's data: control characters (CR and LF among them) inert as everywhere else in
    /// the output, then GitHub's own data escaping of `%` (so a `%0A` in the text stays text).
    static func escape(_ text: String) -> String {
        ControlCharacters.escaped(text).replacingOccurrences(of: "%", with: "%25")
    }

    /// A table cell of the job summary: control characters inert, `|` and backticks unable to end the cell or
    /// the code span they sit in.
    private static func markdown(_ text: String) -> String {
        ControlCharacters.escaped(text).replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "`", with: "'")
    }
}
