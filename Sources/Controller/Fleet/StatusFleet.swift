import Foundation
import Shared

/// `shipkeep status GROUP`: probes every member of a shipkeep.yml group in parallel, each over its own
/// connection, and reports them together — a table, one JSON `host` line per member, or one Prometheus
/// exposition with a `target` label per member — with the worst verdict as the exit status.
struct StatusFleet {
    let command: StatusCommand
    let group: String
    let members: [String]

    /// One member's line of `--json`.
    struct HostLine: Encodable {
        var v = WireProtocol.version
        var type = "host"
        /// The member's name in shipkeep.yml.
        var target: String
        /// `user@host:port`.
        var address: String
        var ok: Bool
        var exitCode: Int32
        var health: Health
        var seconds: Double
        var error: WireError?
        var status: StatusReport?
    }

    /// Probes the members and writes the report; returns the exit status (the worst verdict, or with
    /// --textfile 0 once the file is written).
    func run() -> Int32 {
        guard !members.isEmpty else {
            Terminal.error("shipkeep: status: the group \(group) is empty")
            return DeployExit.usage
        }
        var resolved: [ResolvedTarget] = []
        for name in members {
            var options = command.target
            options.target = name
            do {
                var target = try options.resolve()
                target.name = name
                resolved.append(target)
            } catch {
                let failure = ControllerError(error.kind, "target \(name): \(error.message)")
                return command.present(StatusProbe(target: group, error: failure))
            }
        }
        let probes = ProbeBox(count: resolved.count)
        let targets = UncheckedTargets(resolved)
        let json = command.output == .json
        let printLock = NSLock()
        ThreadPool.forEach(Array(resolved.indices), width: command.parallel) { index in
            let target = targets.value[index]
            let probe = StatusProbe.run(target, shownAs: target.name, verbose: false)
            probes.set(index, probe)
            if json { printLock.withLock { Self.emit(probe, address: target.display) } }
        }
        let results = resolved.indices.map { probes.get($0)! }
        let worst = results.map(\.health).max() ?? .ok
        for probe in results {
            if let error = probe.error { Terminal.error("shipkeep: status: \(probe.target): \(error.message)") }
        }
        switch command.output {
        case .json:
            JSONLines.emit(.init(ok: worst == .ok, exitCode: worst.exitCode, target: group, health: worst))
        case .prometheus:
            let metrics = Prometheus.render(results.map(\.metrics))
            if let file = command.textfile { return StatusCommand.write(metrics, to: file) }
            print(metrics, terminator: "")
        case .text:
            print(table(results, addresses: resolved.map(\.display)))
        }
        fflush(nil)
        return worst.exitCode
    }

    private static func emit(_ probe: StatusProbe, address: String) {
        let line = HostLine(target: probe.target, address: address, ok: probe.exitCode == 0, exitCode: probe.exitCode,
                            health: probe.health, seconds: probe.seconds,
                            error: probe.error.map { WireError(code: $0.wireCode, message: $0.message) },
                            status: probe.report)
        FileHandle.standardOutput.write(Data(WireCodec.encode(line) + [UInt8(ascii: "\n")]))
    }

    /// host, address, verdict, commit, and what the first line of its own report would name.
    private func table(_ probes: [StatusProbe], addresses: [String]) -> String {
        let terminal = Terminal.detect()
        let inert = ControlCharacters.escaped
        let rows = [["host", "address", "health", "commit", "detail"]] + zip(probes, addresses).map { probe, address in
            let commit = probe.report?.apps.first?.head.map { String($0.commit.prefix(12)) } ?? "-"
            let detail = probe.report.map { StatusText.headline($0) ?? "all checks pass" }
                ?? probe.error?.message ?? "no answer"
            return [inert(probe.target), inert(address), probe.health.rawValue.uppercased(), inert(commit),
                    inert(detail)]
        }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        let lines = rows.enumerated().map { index, row in
            row.enumerated().map { column, text -> String in
                guard column < 4 else { return text }
                let padded = text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                return column == 2 && index > 0 ? terminal.paint(padded, probes[index - 1].health) : padded
            }.joined(separator: "  ")
        }
        let healthy = probes.filter { $0.health == .ok }.count
        let worst = probes.map(\.health).max() ?? .ok
        let verdict = terminal.paint("\(worst.rawValue.uppercased()) \(group): \(healthy) of \(probes.count) hosts OK",
                                     worst)
        return ([verdict] + lines).joined(separator: "\n")
    }
}

/// Probes by member index, written by the pool's threads.
private final class ProbeBox: @unchecked Sendable {
    // Every access holds `lock`.
    private let lock = NSLock()
    private var probes: [StatusProbe?]

    init(count: Int) { probes = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ probe: StatusProbe) { lock.withLock { probes[index] = probe } }
    func get(_ index: Int) -> StatusProbe? { lock.withLock { probes[index] } }
}

/// The resolved members, shared read-only with the pool's threads. Safe: never mutated once the probes start,
/// and each member's settings are used by exactly one thread (the one that took its index).
private final class UncheckedTargets: @unchecked Sendable {
    let value: [ResolvedTarget]
    init(_ value: [ResolvedTarget]) { self.value = value }
}
