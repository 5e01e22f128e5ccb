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
        var lines = ["### shipkeep: " + (result.ok ? "deployed ✅" : "deploy failed ❌"), ""]
        lines.append("| | |")
        lines.append("|---|---|")
        lines.append("| target | `\(target)` |")
        if let deploy = result.deploy {
            lines.append("| app | `\(deploy.app)` |")
            lines.append("| deploy | `\(deploy.deploy)` |")
            lines.append("| commit | `\(deploy.previousCommit?.prefix(12) ?? "?")` → `\(deploy.liveCommit?.prefix(12) ?? "?")`"
                + (deploy.commit != deploy.liveCommit ? " (asked for `\(deploy.commit?.prefix(12) ?? "?")`)" : "") + " |")
            lines.append("| outcome | \(deploy.outcome.replacingOccurrences(of: "_", with: " ")) |")
            if let snapshot = deploy.snapshot {
                lines.append("| snapshot | `\(snapshot.id)`: \(snapshot.files) files, \(ByteCount.format(snapshot.bytes)); "
                    + "\(snapshot.linked) linked, \(snapshot.copied) copied (\(ByteCount.format(snapshot.copiedBytes))) |")
            }
            lines.append("| data repairs | \(deploy.repairs) |")
            lines.append("| duration | \(String(format: "%.1f", deploy.seconds)) s |")
        }
        if let error = result.error { lines.append("| error | \(Self.markdown(error.message)) |") }
        if !phases.isEmpty {
            lines += ["", "| phase | state | seconds |", "|---|---|---|"]
            lines += phases.map { "| \($0.name) | \($0.state) | \(String(format: "%.1f", $0.seconds)) |" }
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

    /// Workflow command data escaping: `%`, CR and LF.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    private static func markdown(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
