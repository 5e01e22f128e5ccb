import Foundation
import Glibc

/// A command left running in the background whose stdout is collected in a file, for tests that kill a
/// controller mid-deploy or race two of them. Started with posix_spawn, never Foundation's `Process` (whose
/// child reaping can block on another long-lived child such as sshd).
public final class BackgroundCommand: @unchecked Sendable {
    // @unchecked: used from the one test that owns it; the exit status is cached on first observation.
    private let child: ChildProcess
    private let outputPath: String
    private let errorPath: String
    private var exitStatus: Int32?

    /// Starts `argv` with stdin from /dev/null, and stdout and stderr each to a private file.
    ///
    /// - Throws: `SandboxError` when it cannot start.
    public init(_ argv: [String], environment: [String: String] = [:]) throws {
        outputPath = NSTemporaryDirectory() + "shipkeep-background-\(UUID().uuidString).out"
        errorPath = String(outputPath.dropLast(4)) + ".err"
        let input = try openForChild("/dev/null", O_RDONLY)
        defer { close(input) }
        let output = try openForChild(outputPath, O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(output) }
        let errors = try openForChild(errorPath, O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(errors) }
        child = try ChildProcess.spawn(argv, cwd: nil, environment: environment, descriptors: (input, output, errors))
    }

    deinit {
        if isRunning {
            Glibc.kill(child.pid, SIGKILL)
            _ = child.wait()
        }
        unlink(outputPath)
        unlink(errorPath)
    }

    /// Its process id (to signal it, or to read its state in /proc).
    public var pid: Int32 { child.pid }

    /// Everything it has printed on stdout so far.
    public var output: String {
        String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
    }

    /// Everything it has printed on stderr so far.
    public var errorOutput: String {
        String(decoding: FileManager.default.contents(atPath: errorPath) ?? Data(), as: UTF8.self)
    }

    /// Whether it is still running.
    public var isRunning: Bool {
        if exitStatus == nil { exitStatus = child.poll() }
        return exitStatus == nil
    }

    /// Sends `signal` and waits for it to end.
    public func kill(_ signal: Int32) {
        guard isRunning else { return }
        Glibc.kill(child.pid, signal)
        exitStatus = child.wait()
    }

    /// Waits for it to end and returns its exit status.
    public func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        let status = child.wait()
        exitStatus = status
        return status
    }
}
