import Foundation
import Platform
import ProcessKit

/// How a process ended and what it printed.
public struct ProcessResult: Sendable {
    /// The exit status; 128 + the signal number if a signal ended it, as shells report it.
    public let status: Int32
    /// Everything written to stdout, decoded as UTF-8.
    public let stdout: String
    /// Everything written to stderr, decoded as UTF-8.
    public let stderr: String
}

/// A failure of the sandbox helpers: a process that could not start, or a server that did not come up.
public struct SandboxError: Error, CustomStringConvertible {
    /// What failed, with the relevant output.
    public let message: String

    /// Creates an error.
    /// - Parameter message: What failed.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// Bytes kept of each output of ``runProcess(_:cwd:environment:stdin:stdinBytes:)``: far above what a test
/// command prints, and a bound on what a runaway one can make the test runner hold.
let processCaptureLimit = 64 << 20

/// Runs `argv` (no shell) to completion and captures its output, through ProcessKit: no descriptor of the
/// test runner reaches it and its signals are reset. It stays in the runner's process group.
///
/// Output still in the pipes is read for a bounded time after the process exits: a process that leaves a daemon
/// behind holding its stdout (ssh-agent without `-D`, for one) cannot keep the caller waiting.
/// - Parameters:
///   - argv: The program (looked up in `PATH` unless it contains a `/`) and its arguments.
///   - cwd: The working directory; the current one if nil.
///   - environment: Variables added to (or replacing those in) the current environment.
///   - stdin: Text for the process's stdin; empty input if nil.
///   - stdinBytes: Bytes for the process's stdin (any bytes, not only UTF-8); used instead of `stdin` if set.
/// - Returns: The exit status and output.
/// - Throws: `SandboxError` if the program cannot be found or started.
public func runProcess(
    _ argv: [String],
    cwd: String? = nil,
    environment: [String: String] = [:],
    stdin: String? = nil,
    stdinBytes: Data? = nil
) throws -> ProcessResult {
    let input = stdinBytes.map { [UInt8]($0) } ?? Array((stdin ?? "").utf8)
    let command = ChildCommand(argv, environment: sandboxEnvironment(adding: environment), directory: cwd,
                               stdin: .bytes(input), stdout: .capture, stderr: .capture)
    do {
        let result = try command.run(captureLimit: processCaptureLimit)
        return ProcessResult(status: result.status.shellStatus, stdout: result.stdout, stderr: result.stderr)
    } catch {
        throw SandboxError("\(error)")
    }
}

/// What the sandbox's children get: the test runner's environment with `environment` on top.
func sandboxEnvironment(adding environment: [String: String]) -> [String: String] {
    ProcessEnvironment.current().merging(environment) { $1 }
}

/// Starts `command`, with its errors as ``SandboxError``.
func spawnChild(_ command: ChildCommand) throws -> ChildProcess {
    do {
        return try ChildProcess.spawn(command)
    } catch {
        throw SandboxError("\(error)")
    }
}
