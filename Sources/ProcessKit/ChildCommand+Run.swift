import Platform

/// What a command run to its end did and printed.
public struct ChildResult: Sendable {
    /// How it ended.
    public var status: TerminationStatus
    /// Whether it was ended because it ran past its timeout.
    public var timedOut: Bool
    /// The timeout it ran under, if any.
    public var timeout: Duration?
    /// Its stdout, when captured: the first `captureLimit` bytes, decoded as UTF-8.
    public var stdout: String
    /// Its stderr, likewise.
    public var stderr: String
    /// Bytes of stdout past the cap, counted and not kept (they were still streamed as lines).
    public var stdoutDropped: Int
    /// Bytes of stderr past the cap, likewise.
    public var stderrDropped: Int

    /// True for an exit with status 0 in time.
    public var succeeded: Bool { status.isSuccess && !timedOut }

    /// "exited with status 3", "was killed by signal 9", "timed out after 5s and was killed", for messages.
    public var summary: String {
        guard timedOut else { return status.description }
        let seconds = timeout.map { " after \($0.components.seconds)s" } ?? ""
        return "timed out\(seconds) and was killed"
    }
}

/// Which output a streamed line came from.
public enum ChildStream: String, Sendable {
    /// Standard output.
    case stdout
    /// Standard error.
    case stderr
}

extension ChildCommand {
    /// Runs the command to its end, capturing the outputs set to ``ChildOutput/capture`` and calling `onLine` for
    /// each of their lines as it arrives.
    ///
    /// When the child exits, what is still in its pipes is read for `drainAfterExit` at most and the pipes are
    /// closed: a grandchild that inherited them (`nohup bot &` in a restart script) cannot hang the caller. Past
    /// `timeout`, the child (with ``ChildGroup/newGroup`` or ``ChildGroup/newSession``: its whole group) gets
    /// SIGTERM, then SIGKILL after `grace`.
    ///
    /// - Parameters:
    ///   - timeout: How long it may run; nil for as long as it takes.
    ///   - grace: Between SIGTERM and SIGKILL at the timeout.
    ///   - captureLimit: Bytes kept per stream; beyond, bytes are counted in ``ChildResult/stdoutDropped`` /
    ///     ``ChildResult/stderrDropped`` and dropped (lines are still streamed).
    ///   - maxLineBytes: The longest line streamed whole (see ``LineSplitter``).
    ///   - drainAfterExit: How long output is read after the child exited.
    ///   - onLine: Called with each line of captured output, without its newline.
    /// - Throws: ``SpawnError`` when it cannot start.
    public func run(timeout: Duration? = nil, grace: Duration = .seconds(2), captureLimit: Int = 1 << 20,
                    maxLineBytes: Int = 64 * 1024, drainAfterExit: Duration = .milliseconds(250),
                    onLine: ((ChildStream, String) -> Void)? = nil) throws(SpawnError) -> ChildResult {
        let child = try ChildProcess.spawn(self)
        var collector = OutputCollector(fds: [child.stdoutPipe ?? -1, child.stderrPipe ?? -1], limit: captureLimit,
                                        maxLineBytes: maxLineBytes, onLine: onLine)
        defer { collector.closeAll() }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var timedOut = false
        var idle = Duration.milliseconds(1)
        while !child.hasExited {
            let left = deadline.map { $0 - .now }
            if let left, left <= .zero {
                timedOut = true
                child.terminate(grace: grace) { collector.pump(timeout: min($0, .milliseconds(50))) }
                break
            }
            let slice = min(left ?? .milliseconds(50), .milliseconds(50))
            if collector.isOpen {
                // No SIGCHLD here: wake every 50 ms to notice the exit of a child whose pipes a grandchild holds.
                collector.pump(timeout: slice)
            } else {
                // Nothing to poll and the exit is usually microseconds away: back off from 1 ms, not a full slice
                // that every git call would pay.
                ChildProcess.nap(min(slice, idle))
                idle = min(idle * 2, .milliseconds(50))
            }
        }
        let status = child.wait()
        let drainDeadline = ContinuousClock.now + drainAfterExit
        while collector.isOpen {
            let left = drainDeadline - .now
            if left <= .zero { break }
            collector.pump(timeout: left)
        }
        collector.finishLines()
        return ChildResult(status: status, timedOut: timedOut, timeout: timeout,
                           stdout: collector.text(0), stderr: collector.text(1),
                           stdoutDropped: collector.dropped[0], stderrDropped: collector.dropped[1])
    }
}

/// Reads a child's pipes without blocking: keeps the first bytes of each and splits them into lines.
private struct OutputCollector {
    private var fds: [Int32]
    private var captured: [[UInt8]] = [[], []]
    private(set) var dropped = [0, 0]
    private var splitters: [LineSplitter]
    private let limit: Int
    private let onLine: ((ChildStream, String) -> Void)?
    private static let streams: [ChildStream] = [.stdout, .stderr]

    init(fds: [Int32], limit: Int, maxLineBytes: Int, onLine: ((ChildStream, String) -> Void)?) {
        self.fds = fds
        self.limit = limit
        self.onLine = onLine
        splitters = [LineSplitter(maxLineBytes: maxLineBytes), LineSplitter(maxLineBytes: maxLineBytes)]
    }

    var isOpen: Bool { fds.contains { $0 >= 0 } }

    /// Waits up to `timeout` for output and takes what came.
    mutating func pump(timeout: Duration) {
        var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        guard poll(&polls, nfds_t(polls.count), Int32(max(0, min(milliseconds, 60_000)))) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        for (index, entry) in polls.enumerated() where entry.fd >= 0 && entry.revents != 0 {
            let count = read(entry.fd, &buffer, buffer.count)
            if count > 0 {
                take(buffer[0..<count], stream: index)
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                close(entry.fd)
                fds[index] = -1
            }
        }
    }

    mutating func closeAll() {
        for (index, fd) in fds.enumerated() where fd >= 0 {
            close(fd)
            fds[index] = -1
        }
    }

    /// Streams the unfinished last line of each output.
    mutating func finishLines() {
        for stream in 0..<2 {
            if let line = splitters[stream].finish() { onLine?(Self.streams[stream], line) }
        }
    }

    func text(_ stream: Int) -> String { String(decoding: captured[stream], as: UTF8.self) }

    private mutating func take(_ bytes: ArraySlice<UInt8>, stream: Int) {
        let kept = min(bytes.count, limit - captured[stream].count)
        captured[stream].append(contentsOf: bytes.prefix(kept))
        dropped[stream] += bytes.count - kept
        guard let onLine else { return }
        for line in splitters[stream].append(bytes) { onLine(Self.streams[stream], line) }
    }
}
