import Foundation
import Shared

/// `status --watch`: probes over one SSH session every interval; when the session dies (the VM rebooted, sshd
/// restarted, the link cut), reports UNKNOWN and reconnects with a backoff instead of exiting.
struct StatusWatch {
    let command: StatusCommand
    let resolved: ResolvedTarget

    /// The first wait before reconnecting, and the longest (unless the interval is longer).
    static let firstBackoff = 1.0
    static let maxBackoff = 30.0

    /// Runs until interrupted or `--count` probes; returns the last probe's exit status.
    func run() -> Int32 {
        let interval = command.watch ?? 1
        let limit = command.count ?? .max
        var connection: AgentConnection?
        var failures = 0
        var code: Int32 = 0
        defer { connection?.close() }
        for done in 1...limit {
            var probe: StatusProbe
            do {
                if connection == nil { connection = try AgentConnection(resolved, verbose: command.target.verbose) }
                probe = try StatusProbe.ask(connection!, target: resolved.display, app: resolved.app)
                failures = 0
            } catch {
                connection?.abandon()
                connection = nil
                failures += 1
                probe = StatusProbe(target: resolved.display, error: error)
            }
            code = command.present(probe)
            guard done < limit else { break }
            if let open = connection {
                do {
                    try open.session.idle(seconds: interval)
                } catch {
                    // The session died while idle: reconnect now, and back off only if that fails too.
                    open.abandon()
                    connection = nil
                }
            } else {
                let wait = Self.backoff(after: failures, interval: interval)
                Terminal.error("shipkeep: status: reconnecting to \(resolved.display) in \(StatusText.age(wait))")
                Thread.sleep(forTimeInterval: wait)
            }
        }
        return code
    }

    /// The wait after `failures` failed attempts in a row: 1 s, 2 s, 4 s … up to 30 s, or the interval when it
    /// is longer (never sooner than the interval: a reconnect is no reason to probe more often than asked).
    static func backoff(after failures: Int, interval: Double) -> Double {
        let doubled = firstBackoff * pow(2, Double(max(0, failures - 1)))
        return max(interval, min(doubled, maxBackoff))
    }
}
