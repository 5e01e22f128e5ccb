import Foundation

/// An `ssh-agent -D` of its own, listening on a socket path the caller chooses.
///
/// `@unchecked Sendable`: `socketPath` is immutable and the process handle is only touched under `lock`.
public final class SSHAgentProcess: @unchecked Sendable {
    /// The agent's Unix socket, the value for `SSH_AUTH_SOCK`.
    public let socketPath: String
    private let lock = NSLock()
    private var process: BackgroundProcess?

    /// Starts the agent and returns once it answers `ssh-add -l` (10 s at most).
    /// - Parameter socketPath: Where the agent listens; a stale socket left there is removed. Keep it short:
    ///   Unix socket paths are limited to 107 bytes.
    /// - Throws: `SandboxError` if the agent does not come up.
    public init(socketPath: String) throws {
        self.socketPath = socketPath
        try? FileManager.default.removeItem(atPath: socketPath)
        let agent = try BackgroundProcess(["ssh-agent", "-D", "-a", socketPath])
        process = agent
        let deadline = Date(timeIntervalSinceNow: 10)
        while true {
            // ssh-add -l exits 2 while it cannot reach the agent, 1 for an empty agent, 0 with keys.
            let probe = try runProcess(["ssh-add", "-l"], environment: ["SSH_AUTH_SOCK": socketPath])
            if probe.status != 2 {
                return
            }
            guard agent.isRunning, Date() < deadline else {
                stop()
                throw SandboxError("ssh-agent did not answer on \(socketPath) within 10 s: \(probe.stderr)")
            }
            usleep(20_000)
        }
    }

    deinit {
        stop()
    }

    /// Adds a private key without a passphrase to the agent.
    /// - Parameter keyPath: The private key file.
    /// - Throws: `SandboxError` if `ssh-add` fails.
    public func add(keyPath: String) throws {
        let result = try runProcess(["ssh-add", keyPath], environment: ["SSH_AUTH_SOCK": socketPath])
        guard result.status == 0 else {
            throw SandboxError("ssh-add \(keyPath) failed (status \(result.status)): \(result.stderr)")
        }
    }

    /// Stops the agent and removes its socket. Idempotent; also done on deinit.
    public func stop() {
        let running = lock.withLock {
            defer { process = nil }
            return process
        }
        running?.stop()
        try? FileManager.default.removeItem(atPath: socketPath)
    }
}
