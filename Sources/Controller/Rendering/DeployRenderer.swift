import Foundation
import Shared

/// Renders a deploy's events for a human as they arrive: one line per phase with its duration, live
/// progress on a terminal, service output, warnings, and a closing summary.
final class DeployRenderer {
    private let terminal: Terminal
    private let target: String
    private let verbose: Bool
    private let quiet: Bool
    private var bars: [String: ProgressBar] = [:]
    private var lastPlainProgress: [String: Date] = [:]
    private var phaseStarted: [String: Date] = [:]
    private let actions: GitHubActions?
    private let write: (String) -> Void
    private let follow: (String) -> String
    /// Each finished phase with its duration, for summaries.
    private(set) var phases: [(name: String, state: String, seconds: Double)] = []
    private var progressShown = false
    private var lastProgress = Date.distantPast

    /// - Parameters:
    ///   - quiet: Only warnings, errors and the closing summary.
    ///   - actions: The GitHub Actions context (detected from the environment by default).
    ///   - write: Where each finished line goes (stdout, flushed, by default).
    ///   - follow: The command that follows a deploy, given its id, as the user can paste it.
    init(terminal: Terminal, target: String, verbose: Bool, quiet: Bool = false,
         actions: GitHubActions? = GitHubActions.detect(), write: @escaping (String) -> Void = LiveOutput.line,
         follow: @escaping (String) -> String = { "shipkeep attach --deploy \($0)" }) {
        self.terminal = terminal
        self.actions = actions
        self.write = write
        self.follow = follow
        self.target = target
        self.verbose = verbose && !quiet
        self.quiet = quiet
    }

    /// Renders one event. Every string the agent sent goes through ``ControlCharacters/escaped(_:)`` first: a
    /// hostile or broken agent cannot drive the terminal or start a GitHub workflow command.
    func render(_ message: EventMessage) {
        if quiet {
            guard case .warning = message.event else { return }
        }
        let inert = ControlCharacters.escaped
        switch message.event {
        case .started(let started):
            let (deploy, app) = (inert(started.deploy), inert(started.app))
            line("deploy \(deploy) of \(app) on \(target)")
            line(terminal.dim("  the deploy runs on the VM: interrupting this command does not stop it; "
                + "`\(inert(follow(started.deploy)))` follows it"))
        case .phase(let phase):
            let key = phase.name.rawValue
            switch phase.state {
            case .started:
                phaseStarted[key] = Date()
                if let actions { line(actions.group(key)) }
                if verbose { line("  → \(inert(key))") }
            default:
                bars[key] = nil
                // The agent's own measure, when it sent one: a replay (`attach`) gets the phases' real durations.
                let seconds = phase.seconds ?? phaseStarted[key].map { Date().timeIntervalSince($0) } ?? 0
                phases.append((key, phase.state.rawValue, seconds))
                let mark = phase.state == .completed ? terminal.paint("✓", .ok) : terminal.paint("✗", .critical)
                let name = inert(key).padding(toLength: 9, withPad: " ", startingAt: 0)
                line("  \(mark) \(name) \(String(format: "%5.1fs", seconds))  \(inert(phase.detail ?? ""))")
                if let actions { line(actions.endGroup) }
            }
        case .progress(let progress):
            let key = progress.phase.rawValue
            let now = Date()
            var bar = bars[key]
                ?? ProgressBar(phase: inert(key), started: phaseStarted[key] ?? now)
            bar.update(progress)
            bars[key] = bar
            // Files and bytes arrive as a pair, files first: draw once the pair is complete.
            guard progress.unit != "files" else { return }
            if terminal.interactive {
                guard now.timeIntervalSince(lastProgress) > 0.1 else { return }
                lastProgress = now
                LiveOutput.write("\r\u{1B}[2K" + bar.line(now: now))
                progressShown = true
            } else {
                // In a log (CI), a plain line now and then shows a long phase is moving without flooding it.
                guard now.timeIntervalSince(lastPlainProgress[key] ?? bar.started) >= 5 else { return }
                lastPlainProgress[key] = now
                line(bar.plainLine(now: now))
            }
        case .log(let log):
            line(terminal.dim("    [\(inert(log.source ?? log.stream))] \(inert(log.line))"))
        case .warning(let warning):
            line(actions?.warning(warning.message) ?? "  \(terminal.paint("!", .warning)) \(inert(warning.message))")
        case .hello, .status, .snapshots, .archive, .manifest, .chunk, .frame, .env, .history, .shipTips, .shipReady,
             .backups, .result:
            break
        }
    }

    /// The closing summary of a finished deploy. In GitHub Actions a failure's message is its `::error::`
    /// annotation, shown once: the summary line then leaves it out, and nothing repeats it on stderr.
    func summary(_ result: Event.Result) {
        if let actions, !result.ok, let error = result.error { line(actions.error(error.message)) }
        let inert = ControlCharacters.escaped
        guard let deploy = result.deploy else {
            if actions == nil, let error = result.error {
                line(terminal.paint("failed: ", .critical) + inert(error.message))
            }
            return
        }
        let live = deploy.liveCommit.map { inert(String($0.prefix(12))) } ?? "?"
        let previous = deploy.previousCommit.map { inert(String($0.prefix(12))) } ?? "?"
        let snapshot = deploy.snapshot.map {
            "; snapshot \(inert($0.id)): \($0.linked) linked, \($0.copied) copied "
                + "(\(ByteCount.format($0.copiedBytes)))"
        } ?? ""
        let repairs = deploy.repairs > 0 ? "; \(deploy.repairs) data file(s) repaired" : ""
        let time = String(format: "%.1fs", deploy.seconds)
        if result.ok, deploy.commit == nil, let taken = deploy.snapshot {
            // `shipkeep snapshot`: nothing was deployed.
            line(terminal.paint("snapshot", .ok) + " \(inert(taken.id)) taken at live commit \(live) in \(time): "
                + "\(taken.files) files, \(ByteCount.format(taken.bytes)), \(taken.linked) linked, \(taken.copied) "
                + "copied (\(ByteCount.format(taken.copiedBytes)))")
        } else if result.ok {
            line(terminal.paint("deployed", .ok) + " \(previous) → \(live) in \(time)\(snapshot)\(repairs)")
        } else {
            let what = inert(deploy.outcome.words)
            let message = actions == nil ? ": \(inert(result.error?.message ?? ""))" : ""
            line(terminal.paint(what, deploy.outcome == .rolledBack || deploy.outcome == .refused ? .warning : .critical)
                + "\(message) — live commit \(live) (\(time)\(snapshot)\(repairs))")
        }
    }

    private func line(_ text: String) {
        if progressShown {
            LiveOutput.write("\r\u{1B}[2K")
            progressShown = false
        }
        write(text)
    }
}
