import Foundation
import Platform
import ProcessKit

/// A long-running child (sshd, ssh-agent, the VM's nspawn) that is stopped with SIGTERM, then SIGKILL if it
/// lingers. It stays in the test runner's process group, and only it is signalled.
final class BackgroundProcess {
    private let child: ChildProcess

    /// Starts `argv` with stdin from /dev/null and stdout and stderr appended to `outputPath`.
    /// - Parameters:
    ///   - argv: The program and its arguments.
    ///   - environment: Variables added to the current environment.
    ///   - outputPath: Where stdout and stderr go; /dev/null if nil.
    /// - Throws: `SandboxError` if it cannot start.
    init(_ argv: [String], environment: [String: String] = [:], outputPath: String? = nil) throws {
        let output: ChildOutput = outputPath.map { .file($0, append: true) } ?? .null
        // stderr as the child's new stdout (descriptor 1 after the stdout is installed): one open file, so the
        // two streams interleave in order.
        child = try spawnChild(ChildCommand(argv, environment: sandboxEnvironment(adding: environment),
                                            stdout: output, stderr: .descriptor(1)))
    }

    deinit {
        stop()
    }

    /// The process id.
    var pid: Int32 { child.pid }

    /// Whether the process is still running (it is reaped as soon as this notices it exited).
    var isRunning: Bool { child.poll() == nil }

    /// The exit status once it has ended, as `runProcess` reports it; nil while running.
    var terminationStatus: Int32? { child.poll()?.shellStatus }

    /// Sends SIGTERM and waits up to `grace` seconds, then SIGKILL. Idempotent.
    /// - Parameter grace: Seconds to wait for a clean exit.
    func stop(grace: Double = 5) {
        child.terminate(grace: .seconds(grace))
    }
}
