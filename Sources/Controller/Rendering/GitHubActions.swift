import Foundation
import Shared

/// GitHub Actions workflow commands, the job summary and step outputs, used when `GITHUB_ACTIONS=true`: a log
/// group per phase, `::warning::`/`::error::` annotations, a Markdown table appended to `$GITHUB_STEP_SUMMARY`
/// for every outcome, and the deploy's ids written to `$GITHUB_OUTPUT`.
struct GitHubActions {
    /// Where the job summary goes, when GitHub provides one.
    let summaryFile: String?
    /// Where step outputs go (`name<<delimiter` blocks), when GitHub provides one.
    var outputFile: String? = nil

    /// The GitHub Actions context of this process, or nil when not running in a workflow.
    static func detect(environment: [String: String] = ProcessInfo.processInfo.environment) -> GitHubActions? {
        guard environment["GITHUB_ACTIONS"] == "true" else { return nil }
        let file = { (name: String) in environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        return GitHubActions(summaryFile: file("GITHUB_STEP_SUMMARY"), outputFile: file("GITHUB_OUTPUT"))
    }

    /// `::group::TITLE`.
    func group(_ title: String) -> String { "::group::" + Self.escape(title) }

    /// `::endgroup::`.
    var endGroup: String { "::endgroup::" }

    /// `::warning::MESSAGE`.
    func warning(_ message: String) -> String { "::warning::" + Self.escape(message) }

    /// `::error::MESSAGE`.
    func error(_ message: String) -> String { "::error::" + Self.escape(message) }

    /// Records a finished request: the job summary, and the step outputs.
    /// - Parameter exitCode: The command's exit status, which the summary shows and `outcome` derives from.
    func record(_ result: Event.Result, exitCode: Int32, target: String,
                phases: [(name: String, state: String, seconds: Double)]) {
        writeSummary(target: target, result: result, phases: phases, exitCode: exitCode)
        setOutputs(Self.outputs(of: result, exitCode: exitCode))
    }

    /// The step outputs for a result: `commit` (live now), `previous-commit`, `deploy-id`, `snapshot` and
    /// `outcome` (the deploy's outcome; `unreachable` when the VM could not be asked). Unknown values are empty.
    static func outputs(of result: Event.Result, exitCode: Int32) -> [(String, String)] {
        let deploy = result.deploy
        return [("commit", deploy?.liveCommit ?? ""), ("previous-commit", deploy?.previousCommit ?? ""),
                ("deploy-id", deploy?.deploy ?? ""), ("snapshot", deploy?.snapshot?.id ?? ""),
                ("outcome", outcome(of: result, exitCode: exitCode).rawValue)]
    }

    /// What happened, in one word of the outcome vocabulary (`succeeded`, `rolled_back`, …, `unreachable`).
    static func outcome(of result: Event.Result, exitCode: Int32) -> Outcome {
        if let deploy = result.deploy { return deploy.outcome }
        if result.ok { return .succeeded }
        if exitCode == DeployExit.unreachable { return .unreachable }
        if exitCode == DeployExit.usage { return .usageError }
        return .of(result)
    }

    /// Appends step outputs to `$GITHUB_OUTPUT` as `name=value` lines; each value is made one inert line first, so
    /// agent text cannot end it and add an output of its own.
    func setOutputs(_ outputs: [(String, String)]) {
        guard let outputFile else { return }
        Self.append(outputs.map { "\($0.0)=\(ControlCharacters.escaped($0.1))\n" }.joined(), to: outputFile)
    }

    /// Appends a Markdown summary of a request's result to the job summary: what was deployed, or what failed and
    /// the exit status.
    func writeSummary(target: String, result: Event.Result, phases: [(name: String, state: String, seconds: Double)],
                      exitCode: Int32? = nil) {
        guard let summaryFile else { return }
        // Every string from the agent goes through `markdown`: inert, on its own table cell, in the summary.
        let outcome = Self.outcome(of: result, exitCode: exitCode ?? DeployExit.code(for: result))
        let title = result.ok
            ? (result.deploy == nil ? "done ✅" : "deployed ✅")
            : outcome == .unreachable ? "the VM could not be asked ❌"
            : "deploy failed ❌ (\(Self.markdown(outcome.words)))"
        var lines = ["### shipkeep: " + title, ""]
        lines.append("| | |")
        lines.append("|---|---|")
        lines.append("| target | `\(Self.markdown(target))` |")
        if let deploy = result.deploy {
            let commit = { (id: String?) in Self.markdown(id.map { String($0.prefix(12)) } ?? "?") }
            lines.append("| app | `\(Self.markdown(deploy.app))` |")
            lines.append("| deploy | `\(Self.markdown(deploy.deploy))` |")
            lines.append("| commit | `\(commit(deploy.previousCommit))` → `\(commit(deploy.liveCommit))`"
                + (deploy.commit != deploy.liveCommit ? " (asked for `\(commit(deploy.commit))`)" : "") + " |")
            lines.append("| outcome | \(Self.markdown(deploy.outcome.words)) |")
            if let snapshot = deploy.snapshot {
                lines.append("| snapshot | `\(Self.markdown(snapshot.id))`: \(snapshot.files) files, "
                    + "\(ByteCount.format(snapshot.bytes)); \(snapshot.linked) linked, \(snapshot.copied) copied "
                    + "(\(ByteCount.format(snapshot.copiedBytes))) |")
            }
            lines.append("| data repairs | \(deploy.repairs) |")
            lines.append("| duration | \(String(format: "%.1f", deploy.seconds)) s |")
        } else {
            lines.append("| outcome | \(Self.markdown(outcome.words)) |")
        }
        if let error = result.error { lines.append("| error | \(Self.markdown(error.message)) |") }
        if let exitCode, exitCode != 0 { lines.append("| exit status | \(exitCode) |") }
        if !phases.isEmpty {
            lines += ["", "| phase | state | seconds |", "|---|---|---|"]
            lines += phases.map {
                "| \(Self.markdown($0.name)) | \(Self.markdown($0.state)) | \(String(format: "%.1f", $0.seconds)) |"
            }
        }
        Self.append(lines.joined(separator: "\n") + "\n\n", to: summaryFile)
    }

    /// Appends a downloaded snapshot (or why the download failed) to the job summary.
    func writeDownloadSummary(target: String, snapshot: String?, files: Int?, bytes: Int64?, file: String?,
                              error: String?) {
        guard let summaryFile else { return }
        var lines = ["### shipkeep: " + (error == nil ? "snapshot downloaded ✅" : "download failed ❌"), "",
                     "| | |", "|---|---|", "| target | `\(Self.markdown(target))` |"]
        if let snapshot { lines.append("| snapshot | `\(Self.markdown(snapshot))` |") }
        if let files, let bytes { lines.append("| contents | \(files) files, \(ByteCount.format(bytes)), verified |") }
        if let file { lines.append("| archive | `\(Self.markdown(file))` |") }
        if let error { lines.append("| error | \(Self.markdown(error)) |") }
        Self.append(lines.joined(separator: "\n") + "\n\n", to: summaryFile)
    }

    /// Appends `text` to the file at `path`, creating it if needed.
    private static func append(_ text: String, to path: String) {
        guard let handle = FileHandle(forWritingAtPath: path) ?? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
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
