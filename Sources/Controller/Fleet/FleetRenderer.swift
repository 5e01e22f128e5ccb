import Foundation
import Shared

/// Human output of a fleet deploy: a line as each host finishes, then a table of every host.
struct FleetRenderer {
    let terminal: Terminal
    /// The verdict's verb: "all 3 hosts deployed".
    var done = "deployed"
    /// Name the snapshot each host took instead of its commits (`snapshot GROUP`).
    var showsSnapshot = false

    /// The line for one finished host.
    func hostLine(_ host: FleetDeploy.HostResult) -> String {
        let mark = host.ok ? terminal.paint("✓", .ok)
            : terminal.paint("✗", host.outcome == .skipped || host.exitCode == DeployExit.failed ? .warning : .critical)
        let detail = host.ok ? commits(host) : ControlCharacters.escaped(host.error?.message ?? host.outcome.rawValue)
        return "  \(mark) \(host.target)  \(String(format: "%.1fs", host.seconds))  \(detail)"
    }

    /// The closing table: host, address, commit before → after, duration, outcome.
    func table(_ hosts: [FleetDeploy.HostResult]) -> String {
        let rows = [["host", "address", "commit", "time", "outcome"]] + hosts.map { host in
            [host.target, host.address, commits(host), String(format: "%.1fs", host.seconds),
             ControlCharacters.escaped(host.outcome.rawValue)]
        }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        let lines = rows.map { row in
            row.enumerated().map { column, text in
                column == 4 ? text : text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        let succeeded = hosts.filter(\.ok).count
        let verdict = succeeded == hosts.count
            ? terminal.paint("all \(hosts.count) hosts \(done)", .ok)
            : terminal.paint("\(succeeded) of \(hosts.count) hosts \(done)", succeeded == 0 ? .critical : .warning)
        return (lines + [verdict]).joined(separator: "\n")
    }

    /// One host's snapshots, newest first, as `shipkeep snapshots` lists them, under a line naming the host.
    func snapshots(_ host: FleetDeploy.HostResult) -> String {
        let list = host.snapshots ?? []
        let header = ControlCharacters.escaped("\(host.target) (\(host.address)): \(list.count) snapshot(s)")
        return ([header] + SnapshotsCommand.lines(list).map { "  " + $0 }).joined(separator: "\n")
    }

    private func commits(_ host: FleetDeploy.HostResult) -> String {
        if host.snapshots != nil, host.deploy == nil {
            let newest = host.snapshots?.last?.id ?? "none"
            return ControlCharacters.escaped("\(host.snapshots?.count ?? 0) snapshots, newest \(newest)")
        }
        guard let deploy = host.deploy else { return "-" }
        if showsSnapshot {
            guard let snapshot = deploy.snapshot else { return "no snapshot" }
            let commit = deploy.liveCommit.map { " of " + String($0.prefix(12)) } ?? ""
            return ControlCharacters.escaped("snapshot \(snapshot.id)\(commit)")
        }
        let before = deploy.previousCommit.map { String($0.prefix(12)) } ?? "?"
        let after = deploy.liveCommit.map { String($0.prefix(12)) } ?? "?"
        return ControlCharacters.escaped("\(before) → \(after)")
    }
}
