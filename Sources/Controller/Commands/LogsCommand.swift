import ArgumentParser
import Foundation
import Shared

/// `shipkeep logs`: the last lines of files in the data dirs, or of a service's output, optionally followed.
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show the last lines of files in the data dirs, or of a service's output; -f follows them.",
        discussion: """
            PATHs (after TARGET, or with --path) are files or globs relative to the work tree, inside the app's data dirs (logs/bot.log, \
            'logs/*.log' — quote globs from your shell; a glob without "/" matches the name in any data dir). \
            Absolute paths, "..", and anything through a symbolic link are refused, as restore refuses them. With \
            no PATH, or with --service, shows a service's output instead: a systemd unit's journal \
            (journalctl -u; a system unit's needs the agent's user in the systemd-journal group), or what a \
            command service's restart, stop and start commands printed (kept by the agent, 1-2 MiB, in its state \
            dir). Binary files are named, not shown; a line longer than 4 KiB is cut with a marker; bytes that \
            are not UTF-8 appear as \\x{hh} and control characters escaped.

            -f follows: new lines as they are written, across a log rotation (the file renamed and a new one \
            created: the old one is read to its end first) and a truncation. Ctrl-C (or SIGTERM) ends it \
            cleanly with exit status 0: following ends no other way. Without -f an interruption exits 130.

            Examples:
              shipkeep logs prod logs/bot.log -n 50
              shipkeep logs prod 'logs/*.log' -f
              shipkeep logs prod --service bot --since 10m

            Exit status: 0 done; 1 refused (a path outside the data dirs, a link, a missing file); 3 the VM could \
            not be asked; 64 a usage error (a path that is absolute or has a .. component, a service agent.yml \
            does not name).
            """
    )

    @OptionGroup var target: TargetOptions

    @Argument(help: ArgumentHelp("Files or globs inside the data dirs, relative to the work tree.", valueName: "path"))
    var paths: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "A service's output instead of files: a command service's name or a systemd unit.", valueName: "name"))
    var service: String?

    @Option(name: [.customShort("n"), .customLong("lines")], help: ArgumentHelp(
        "How many of the last lines of each file or service (default 10, at most 10000; 0 with -f: only new ones).",
        valueName: "n"))
    var lines = 10

    @Flag(name: [.customShort("f"), .customLong("follow")], help: "Keep printing new lines until Ctrl-C (exit 0).")
    var follow = false

    @Option(name: .long, help: ArgumentHelp(
        "Only what was written in the last DURATION (30s, 10m, 2h, 1d): a journal's lines since then; files and "
            + "captured output not modified since then are skipped.", valueName: "duration"))
    var since: String?

    @Flag(name: .long, help: "JSON Lines on stdout (a \"log\" event per line); the last line is {\"type\":\"result\",…}.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("A file or glob, as PATH (repeatable).", valueName: "path"))
    var path: [String] = []

    /// The TARGET and the paths: a first argument with `/`, `*` or `?` cannot name a host or target, so it is the
    /// first PATH (`shipkeep logs logs/bot.log --host vm` reads logs/bot.log on vm).
    private var split: (target: TargetOptions, paths: [String]) {
        var options = target
        var files = paths
        if let first = options.target, first.contains("/") || LogsCommand.isGlob(first) {
            files.insert(first, at: 0)
            options.target = nil
        }
        return (options, files + path)
    }

    static func isGlob(_ text: String) -> Bool { text.contains("*") || text.contains("?") }

    func validate() throws {
        if !(0...10_000).contains(lines) { throw ValidationError("-n must be 0 to 10000, got \(lines)") }
        if service != nil && !split.paths.isEmpty { throw ValidationError("name files or --service, not both") }
        if let since, Self.seconds(since) == nil {
            throw ValidationError("--since takes a duration such as 30s, 10m, 2h or 1d, got \"\(since)\"")
        }
    }

    /// `30s`, `10m`, `2h`, `1d` (or plain seconds) in seconds.
    static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var digits = Substring(text)
        var unit = 1
        if let last = text.last, let factor = units[last] {
            digits = text.dropLast()
            unit = factor
        }
        guard let value = Int(digits), value > 0, value <= 3650 * 86400 / unit else { return nil }
        return value * unit
    }

    func run() throws {
        if follow { Interrupts.absorbFirst() }
        let (target, paths) = split
        let view = LogsView(headers: paths.count > 1 || paths.contains(where: Self.isGlob) || (paths.isEmpty && service == nil))
        try AgentRequest(options: target, json: json).run({ resolved throws(ControllerError) in
            .logs(Command.Logs(app: try AgentRequest.requireApp(resolved), paths: paths.isEmpty ? nil : paths,
                               service: service, lines: lines, follow: follow ? true : nil,
                               since: since.flatMap(Self.seconds)))
        }, stop: { Interrupts.raised }, summarize: false, human: { _, message in view.show(message) })
    }
}

/// Prints `logs` events for a human: each line as it came (control characters escaped), a `==> name <==`
/// header when the source changes and several may come, notes on stderr.
final class LogsView {
    private let headers: Bool
    private var current: String?

    init(headers: Bool) {
        self.headers = headers
    }

    func show(_ message: EventMessage) {
        let inert = ControlCharacters.escaped
        switch message.event {
        case .log(let log):
            var text = ""
            let source = log.source ?? log.stream
            if headers && source != current {
                text += (current == nil ? "" : "\n") + "==> \(inert(source)) <==\n"
            }
            current = source
            text += inert(log.line) + "\n"
            FileHandle.standardOutput.write(Data(text.utf8))
        case .warning(let warning):
            Terminal.error("shipkeep: \(inert(warning.message))")
        default:
            break
        }
    }
}
