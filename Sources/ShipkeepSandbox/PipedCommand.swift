import Foundation
import Platform
import ProcessKit

/// A command whose stdout is a pipe the test reads line by line as it arrives, as `tee` or a CI runner would:
/// for tests of what reaches a reader, and when, while the command still runs. stderr goes to a private file.
public final class PipedCommand: @unchecked Sendable {
    // @unchecked: used from the one test that owns it, one call at a time.
    private let child: ChildProcess
    private let reader: Int32
    private let errorPath: String
    private var splitter = LineSplitter()
    private var closed = false
    /// The complete lines read so far (a line longer than 64 KiB comes in pieces, see `LineSplitter`).
    public private(set) var lines: [String] = []

    /// Starts `argv` with stdin from /dev/null and stdout into a pipe.
    ///
    /// - Throws: `SandboxError` when it cannot start.
    public init(_ argv: [String], environment: [String: String] = [:], cwd: String? = nil) throws {
        errorPath = NSTemporaryDirectory() + "shipkeep-piped-\(UUID().uuidString).err"
        child = try spawnChild(ChildCommand(argv, environment: sandboxEnvironment(adding: environment), directory: cwd,
                                            stdout: .capture, stderr: .file(errorPath, append: false)))
        reader = child.stdoutPipe ?? -1
    }

    deinit {
        if child.poll() == nil {
            child.signal(SIGKILL)
            child.wait()
        }
        close(reader)
        unlink(errorPath)
    }

    /// Everything it has printed on stderr so far.
    public var errorOutput: String {
        String(decoding: FileManager.default.contents(atPath: errorPath) ?? Data(), as: UTF8.self)
    }

    /// Reads until a line matching `predicate` has arrived and returns it; nil when the pipe closed first.
    ///
    /// - Throws: `SandboxError` when `timeout` passes first.
    @discardableResult
    public func waitForLine(timeout: Double = 120, _ predicate: (String) -> Bool) throws -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var checked = 0
        while true {
            if let found = lines[checked...].first(where: predicate) { return found }
            checked = lines.count
            if closed { return nil }
            guard Date() < deadline else {
                throw SandboxError("no expected line within \(Int(timeout))s; so far:\n\(lines.joined(separator: "\n"))")
            }
            read(until: deadline)
        }
    }

    /// Reads until the writer closes the pipe (it exited) and returns every line.
    ///
    /// - Throws: `SandboxError` when `timeout` passes first.
    public func readToEnd(timeout: Double = 120) throws -> [String] {
        _ = try waitForLine(timeout: timeout) { _ in false }
        return lines
    }

    /// Sends `signal` without waiting for the command to end.
    public func signal(_ signal: Int32) {
        child.signal(signal)
    }

    /// Waits for it to end and returns its exit status (128 + the signal when a signal killed it).
    public func wait() -> Int32 {
        child.wait().shellStatus
    }

    /// Waits (up to `deadline`) for bytes, and splits what came into lines.
    private func read(until deadline: Date) {
        var descriptor = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(0, min(1000, deadline.timeIntervalSinceNow * 1000)))
        guard poll(&descriptor, 1, milliseconds) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = Platform.read(reader, &buffer, buffer.count)
        if count <= 0 {
            if count == 0 || errno != EINTR { closed = true }
            if closed, let last = splitter.finish() { lines.append(last) }
            return
        }
        lines += splitter.append(buffer[0..<count])
    }
}
