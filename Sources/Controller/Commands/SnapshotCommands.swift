import ArgumentParser
import Foundation
import Shared

/// `shipkeep snapshots`: list an app's snapshots.
struct SnapshotsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots",
        abstract: "List the snapshots of an app's data dirs, newest first: id, time, what took it (deploy, rollback, "
            + "manual, schedule) and its outcome, commit, files, bytes.",
        discussion: """
            TARGET may be a group of shipkeep.yml: each member's snapshots are listed (--parallel at a time), then \
            a table; with --json, one {"type":"host",…,"snapshots":[…]} line per host.
            """
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("For a group: ask this many hosts at a time (default 4).", valueName: "n"))
    var parallel = 4

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func validate() throws {
        if !(1...256).contains(parallel) { throw ValidationError("--parallel must be 1 to 256, got \(parallel)") }
    }

    func run() throws {
        if let members = try target.groupMembersForCommand() {
            try FleetCommand(options: target, members: members, json: json, parallel: parallel, verb: .snapshots) {
                resolved, _ throws(ControllerError) in .snapshots(app: try AgentRequest.requireApp(resolved))
            }.run()
        }
        try AgentRequest(options: target, json: json).run({ resolved throws(ControllerError) in
            .snapshots(app: try AgentRequest.requireApp(resolved))
        }, human: { _, message in
            guard case .snapshots(let list) = message.event else { return }
            if list.snapshots.isEmpty {
                print("no snapshots of \(ControlCharacters.escaped(list.app)) yet (each deploy takes one; "
                    + "`shipkeep snapshot` takes one now)")
            }
            for line in Self.lines(list.snapshots) { print(line) }
        })
    }

    /// A header, then one line per snapshot, newest first: id, time, what took it and how that ended, commit,
    /// files, bytes, linked and copied and the bytes that cost (a grown chunked file: its new chunks); made inert.
    static func lines(_ snapshots: [SnapshotInfo]) -> [String] {
        guard !snapshots.isEmpty else { return [] }
        let rows = snapshots.reversed().map { snapshot in
            [snapshot.id, snapshot.createdAt.iso8601, snapshot.origin ?? "deploy",
             snapshot.outcome?.rawValue ?? (snapshot.origin == nil ? "-" : "unfinished"),
             snapshot.commit.map { String($0.prefix(12)) } ?? "?"].map(ControlCharacters.escaped)
                + ["\(snapshot.files)", ByteCount.format(snapshot.bytes),
                   "\(snapshot.linked) linked, \(snapshot.copied) copied, \(ByteCount.format(snapshot.copiedBytes)) written"]
        }
        let header = ["SNAPSHOT", "TIME", "MADE BY", "OUTCOME", "COMMIT", "FILES", "BYTES", "STORED"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            zip(row, widths).enumerated().map { index, cell in
                index == row.count - 1 ? cell.0 : cell.0.padding(toLength: cell.1, withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }
}

/// `shipkeep restore`: restore data from a snapshot, into the data dirs only.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore files from a snapshot into the data dirs; newer data is kept unless --force.",
        discussion: """
            Paths are relative to the work tree and must lie inside a data dir; paths with "..", absolute \
            paths and paths through symbolic links are refused. A file that differs from the snapshot is kept \
            unless --force, and with --force its content is first preserved next to it. Takes the app's lock.
            With --backup ID instead of --snapshot, the agent first fetches that off-VM backup (`shipkeep backups`) \
            from the restic repository into a temporary dir in the app's state dir, then restores from it by the \
            same rules; a large backup may need a longer --timeout, as the agent is silent while restic works.
            \(DeployExit.help)
            """
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("The snapshot id (see `shipkeep snapshots`), or latest for the newest.",
                                            valueName: "id"))
    var snapshot: String?

    @Option(name: .long, help: ArgumentHelp("Restore from this off-VM restic backup instead (an id or 8+ hex digit "
                                            + "prefix from `shipkeep backups`, or latest).", valueName: "id"))
    var backup: String?

    @Option(name: .long, help: ArgumentHelp("A path to restore (repeatable); default: every data dir.", valueName: "path"))
    var path: [String] = []

    @Flag(name: .long, help: "Overwrite files that differ from the snapshot (their content is preserved aside).")
    var force = false

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func validate() throws {
        if (snapshot == nil) == (backup == nil) {
            throw ValidationError("name what to restore from: --snapshot ID or --backup ID (one of them)")
        }
    }

    func run() throws {
        try AgentRequest(options: target, json: json).run { resolved throws(ControllerError) in
            // `snapshot` stays empty with --backup: an agent that knows no backups refuses it as unknown.
            .restore(Command.Restore(app: try AgentRequest.requireApp(resolved), snapshot: snapshot ?? "",
                                     paths: path.isEmpty ? nil : path, force: force ? true : nil, backup: backup))
        }
    }
}

/// Who is deploying, recorded with the lock: `user@host`, or the CI job when running in one.
enum ControllerIdentity {
    /// Escaped like any text shown (``ControlCharacters/escaped(_:)``): the agent refuses a control character in
    /// it, and an odd host name or CI variable must not make every deploy fail.
    static var current: String {
        let env = ProcessInfo.processInfo.environment
        if env["GITHUB_ACTIONS"] == "true", let repo = env["GITHUB_REPOSITORY"], let run = env["GITHUB_RUN_ID"] {
            return ControlCharacters.escaped("github-actions \(repo) run \(run)")
        }
        return ControlCharacters.escaped("\(NSUserName())@\(ProcessInfo.processInfo.hostName)")
    }
}
