import Foundation
import Platform

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

/// Runs `argv` (no shell) to completion and captures its output.
///
/// Output goes to temporary files rather than pipes: a process that leaves a daemon behind holding its
/// stdout (ssh-agent without `-D`, for one) would otherwise keep a pipe reader waiting forever, and a
/// chatty stderr cannot fill a pipe and stall the child.
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
    let scratch = try ScratchFiles()
    defer { scratch.remove() }
    guard FileManager.default.createFile(atPath: scratch.stdin, contents: stdinBytes ?? Data((stdin ?? "").utf8)) else {
        throw SandboxError("cannot write \(scratch.stdin)")
    }
    let input = try openForChild(scratch.stdin, O_RDONLY)
    defer { close(input) }
    let output = try openForChild(scratch.stdout, O_WRONLY | O_CREAT | O_TRUNC)
    defer { close(output) }
    let errors = try openForChild(scratch.stderr, O_WRONLY | O_CREAT | O_TRUNC)
    defer { close(errors) }
    let child = try ChildProcess.spawn(
        argv,
        cwd: cwd,
        environment: environment,
        descriptors: (input, output, errors)
    )
    let status = child.wait()
    return ProcessResult(status: status, stdout: scratch.read(scratch.stdout), stderr: scratch.read(scratch.stderr))
}

/// A private temporary directory holding one process's stdin, stdout and stderr files.
private struct ScratchFiles {
    let directory: String
    var stdin: String { directory + "/stdin" }
    var stdout: String { directory + "/stdout" }
    var stderr: String { directory + "/stderr" }

    init() throws {
        directory = NSTemporaryDirectory() + "shipkeep-run-" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(
                atPath: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw SandboxError("cannot create \(directory): \(error)")
        }
    }

    func read(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
