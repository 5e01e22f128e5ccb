import Foundation
import Platform

/// A long-running child (sshd, ssh-agent) that is stopped with SIGTERM, then SIGKILL if it lingers.
final class BackgroundProcess {
    private let child: ChildProcess
    private var exitStatus: Int32?

    /// Starts `argv` with stdin from /dev/null and stdout and stderr appended to `outputPath`.
    /// - Parameters:
    ///   - argv: The program and its arguments.
    ///   - environment: Variables added to the current environment.
    ///   - outputPath: Where stdout and stderr go; /dev/null if nil.
    /// - Throws: `SandboxError` if it cannot start.
    init(_ argv: [String], environment: [String: String] = [:], outputPath: String? = nil) throws {
        let input = try openForChild("/dev/null", O_RDONLY)
        defer { close(input) }
        let output = try openForChild(outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND)
        defer { close(output) }
        child = try ChildProcess.spawn(argv, cwd: nil, environment: environment, descriptors: (input, output, output))
    }

    deinit {
        stop()
    }

    /// The process id.
    var pid: pid_t { child.pid }

    /// Whether the process is still running (it is reaped as soon as this notices it exited).
    var isRunning: Bool {
        if exitStatus == nil {
            exitStatus = child.poll()
        }
        return exitStatus == nil
    }

    /// The exit status once it has ended, as `runProcess` reports it; nil while running.
    var terminationStatus: Int32? {
        _ = isRunning
        return exitStatus
    }

    /// Sends SIGTERM and waits up to `grace` seconds, then SIGKILL. Idempotent.
    /// - Parameter grace: Seconds to wait for a clean exit.
    func stop(grace: Double = 5) {
        guard isRunning else { return }
        kill(child.pid, SIGTERM)
        let deadline = Date(timeIntervalSinceNow: grace)
        while isRunning && Date() < deadline {
            // waitpid has no timeout; the exit is observed by polling.
            usleep(5_000)
        }
        if isRunning {
            kill(child.pid, SIGKILL)
            exitStatus = child.wait()
        }
    }
}
