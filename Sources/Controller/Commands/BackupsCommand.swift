import ArgumentParser
import Foundation
import Shared

/// `shipkeep backups`: list an app's off-VM backups (its restic repository's snapshots).
struct BackupsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backups",
        abstract: "List an app's off-VM backups in its restic repository, newest first: id, time, snapshot, "
            + "commit, size.",
        discussion: """
            The agent runs `restic snapshots` of the app's tag with agent.yml's backup.restic settings; the \
            repository password and credentials never leave the VM. Restore one with \
            `shipkeep restore TARGET --app NAME --backup ID` (an id prefix of 8 or more hex digits is enough).
            Exit status: 0 listed; 1 the app has no backup: in agent.yml, or restic failed (the message says \
            why); 3 the VM could not be asked.
            """
    )

    @OptionGroup var target: TargetOptions

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func run() throws {
        try AgentRequest(options: target, json: json).run({ resolved throws(ControllerError) in
            .backups(app: try AgentRequest.requireApp(resolved))
        }, human: { _, message in
            guard case .backups(let list) = message.event else { return }
            if list.backups.isEmpty {
                print("no backups of \(ControlCharacters.escaped(list.app)) yet (each snapshot is backed up once "
                    + "agent.yml has backup: {restic: …})")
            }
            for line in Self.lines(list.backups) { print(line) }
        })
    }

    /// A header, then one line per backup in the order given (newest first): id (8 digits), time, snapshot,
    /// commit, size; made inert.
    static func lines(_ backups: [BackupInfo]) -> [String] {
        guard !backups.isEmpty else { return [] }
        let rows = backups.map { backup in
            [String(backup.id.prefix(8)), backup.time.iso8601, backup.snapshot ?? "?",
             backup.commit.map { String($0.prefix(12)) } ?? "?"].map(ControlCharacters.escaped)
                + [backup.bytes.map(ByteCount.format) ?? "?"]
        }
        let header = ["BACKUP", "TIME", "SNAPSHOT", "COMMIT", "SIZE"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            zip(row, widths).enumerated().map { index, cell in
                index == row.count - 1 ? cell.0 : cell.0.padding(toLength: cell.1, withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }
}
