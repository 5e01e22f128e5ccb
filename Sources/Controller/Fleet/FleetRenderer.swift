import Foundation
import Shared

/// Human output of a fleet deploy: a line as each host finishes, then a table of every host.
struct FleetRenderer {
    let terminal: Terminal

    /// The line for one finished host.
    func hostLine(_ host: FleetDeploy.HostResult) -> String {
        let mark = host.ok ? terminal.paint("✓", .ok)
            : terminal.paint("✗", host.outcome == "skipped" || host.exitCode == DeployExit.failed ? .warning : .critical)
        let detail = host.ok ? commits(host) : ControlCharacters.escaped(host.error?.message ?? host.outcome)
        return "  \(mark) \(host.target)  \(String(format: "%.1fs", host.seconds))  \(detail)"
    }

    /// The closing table: host, address, commit before → after, duration, outcome.
    func table(_ hosts: [FleetDeploy.HostResult]) -> String {
        let rows = [["host", "address", "commit", "time", "outcome"]] + hosts.map { host in
            [host.target, host.address, commits(host), String(format: "%.1fs", host.seconds),
             ControlCharacters.escaped(host.outcome)]
        }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        let lines = rows.map { row in
            row.enumerated().map { column, text in
                column == 4 ? text : text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        let succeeded = hosts.filter(\.ok).count
        let verdict = succeeded == hosts.count
            ? terminal.paint("all \(hosts.count) hosts deployed", .ok)
            : terminal.paint("\(succeeded) of \(hosts.count) hosts deployed", succeeded == 0 ? .critical : .warning)
        return (lines + [verdict]).joined(separator: "\n")
    }

    private func commits(_ host: FleetDeploy.HostResult) -> String {
        guard let deploy = host.deploy else { return "-" }
        let before = deploy.previousCommit.map { String($0.prefix(12)) } ?? "?"
        let after = deploy.liveCommit.map { String($0.prefix(12)) } ?? "?"
        return ControlCharacters.escaped("\(before) → \(after)")
    }
}
