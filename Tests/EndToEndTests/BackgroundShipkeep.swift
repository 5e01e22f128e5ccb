import Foundation
import ShipkeepSandbox

/// `shipkeep` running in the background, for tests that kill it or race it.
final class BackgroundShipkeep {
    private let command: BackgroundCommand

    init(_ arguments: [String]) throws {
        command = try BackgroundCommand([try BuildProducts.path("shipkeep")] + arguments,
                                        environment: ["SSH_AUTH_SOCK": "", "SHIPKEEP_SSH_CONFIG": "/dev/null"])
    }

    var output: String { command.output }

    /// What it printed on stderr so far.
    var errorOutput: String { command.errorOutput }

    /// Whether it is still running.
    var isRunning: Bool { command.isRunning }

    /// Waits until a line matching `predicate` has been printed, and returns it.
    @discardableResult
    func waitForLine(timeout: Double = 120, _ predicate: (String) -> Bool) throws -> String {
        var found: String?
        try waitUntil("shipkeep prints the expected line; so far:\n\(output.suffix(1500))", timeout: timeout) {
            found = output.split(separator: "\n").map(String.init).first(where: predicate)
            return found != nil || !command.isRunning
        }
        guard let found else { throw SandboxError("shipkeep exited before printing the expected line:\n\(output)") }
        return found
    }

    func kill(_ signal: Int32) {
        command.kill(signal)
    }

    func wait() throws -> Int32 {
        command.wait()
    }
}

/// Polls `condition` (a state that will change, not a fixed delay) until it holds or `timeout` passes.
func waitUntil(_ what: String, timeout: Double = 60, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    throw SandboxError("timed out after \(Int(timeout))s waiting until \(what)")
}

/// A process's state letter from /proc (R, S, T, Z…), or nil when it does not exist.
func processState(_ pid: Int32) -> String? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
}
