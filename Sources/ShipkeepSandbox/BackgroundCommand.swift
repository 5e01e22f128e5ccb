import Foundation
import Platform
import ProcessKit

/// A command left running in the background whose stdout is collected in a file, for tests that kill a
/// controller mid-deploy or race two of them. Started through ProcessKit, never Foundation's `Process` (whose
/// child reaping can block on another long-lived child such as sshd), in the test runner's process group.
public final class BackgroundCommand: @unchecked Sendable {
    // @unchecked: used from the one test that owns it; the exit status is cached on first observation.
    private let child: ChildProcess
    private let outputPath: String
    private let errorPath: String

    /// Starts `argv` with stdin from /dev/null, and stdout and stderr each to a private file.
    ///
    /// - Throws: `SandboxError` when it cannot start.
    public init(_ argv: [String], environment: [String: String] = [:]) throws {
        outputPath = NSTemporaryDirectory() + "shipkeep-background-\(UUID().uuidString).out"
        errorPath = String(outputPath.dropLast(4)) + ".err"
        child = try spawnChild(ChildCommand(argv, environment: sandboxEnvironment(adding: environment),
                                            stdout: .file(outputPath, append: false),
                                            stderr: .file(errorPath, append: false)))
    }

    deinit {
        if isRunning {
            child.signal(SIGKILL)
            child.wait()
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
    public var isRunning: Bool { child.poll() == nil }

    /// Sends `signal` and waits for it to end.
    public func kill(_ signal: Int32) {
        guard isRunning else { return }
        child.signal(signal)
        child.wait()
    }

    /// Waits for it to end and returns its exit status (128 + the signal when a signal killed it).
    public func wait() -> Int32 {
        child.wait().shellStatus
    }
}
