import CLibSSH2
import Platform

/// Owns one `LIBSSH2_CHANNEL` running a remote command, and keeps its session alive.
///
/// stdout and stderr are read as separate streams. Output that arrives while `write` waits for the peer to
/// open its window is kept in memory and returned by the next `read`, so a command that echoes its input
/// (like `cat`) cannot deadlock a large write. Not `Sendable`: it drives a libssh2 session, which is not
/// thread-safe.
final class SSHChannel {
    private let raw: OpaquePointer
    private let session: SSHSession
    private let readTimeout: Double
    private let command: String
    /// Output received but not yet returned by `read`.
    private var pending: [ChannelEvent] = []
    /// When channel data last arrived; the read timeout counts from here, across calls.
    private var lastData = ContinuousClock.now
    private var eofSeen = false
    private var isClosed = false
    private var readBuffer = [UInt8](repeating: 0, count: 32 * 1024)
    /// The most bytes of one stream a single `read` collects.
    private static let maxReadBytes = 1 << 20

    /// What the channel is opened for.
    enum Request {
        /// Run a command line (a forced command in authorized_keys overrides it).
        case exec(String)
        /// Start a subsystem such as `sftp` (a forced command overrides it too).
        case subsystem(String)
    }

    /// Opens a session channel and starts `command` on it.
    /// - Parameters:
    ///   - session: The authenticated session.
    ///   - command: The command line for the server (a forced command in authorized_keys overrides it).
    ///   - readTimeout: Seconds without channel data before the peer is considered dead.
    /// - Throws: `SSHError` with `.channel`, `.io` or `.timeout`.
    convenience init(session: SSHSession, command: String, readTimeout: Double) throws(SSHError) {
        try self.init(session: session, request: .exec(command), readTimeout: readTimeout)
    }

    /// Opens a session channel and starts a command or subsystem on it.
    /// - Parameters:
    ///   - session: The authenticated session.
    ///   - request: The command or subsystem.
    ///   - readTimeout: Seconds without channel data before the peer is considered dead.
    /// - Throws: `SSHError` with `.channel`, `.io` or `.timeout`.
    init(session: SSHSession, request: Request, readTimeout: Double) throws(SSHError) {
        let command: String
        switch request {
        case .exec(let line): command = line
        case .subsystem(let name): command = "subsystem \(name)"
        }
        guard !session.isDisconnected else {
            throw SSHError(.channel, "the connection to \(session.endpoint) was already closed; connect again")
        }
        let deadline = Deadline(seconds: readTimeout)
        self.raw = try session.callReturningHandle(
            "libssh2_channel_open_session",
            .channel,
            what: "opening a channel on \(session.endpoint)",
            hint: "the server may limit sessions (MaxSessions); retry",
            until: deadline
        ) { shipkeep_channel_open_session(session.raw) }
        self.session = session
        self.readTimeout = readTimeout
        self.command = command
        // From here on deinit frees the channel, whatever fails below.
        try session.call(
            "libssh2_channel_process_startup",
            .channel,
            what: "starting '\(command)' on \(session.endpoint)",
            hint: "check that the server allows command execution for this key",
            until: deadline
        ) {
            switch request {
            case .exec(let line):
                line.withCString { shipkeep_channel_exec(raw, $0, UInt32(line.utf8.count)) }
            case .subsystem(let name):
                name.withCString { shipkeep_channel_subsystem(raw, $0, UInt32(name.utf8.count)) }
            }
        }
        lastData = .now
    }

    deinit {
        // libssh2_channel_free closes the channel first and waits for the server's close, which for a command
        // still running only comes when it exits. So an abandoned channel gets its close sent (completely:
        // a half-sent packet would break the next call on the session) and libssh2_session_free, which frees
        // every channel left, finishes the job.
        let finished = eofSeen || isClosed
        let session = session
        let abandon = { !finished && !session.isSendPending }
        _ = session.finish("libssh2_channel_free", until: Deadline(seconds: 2), giveUp: abandon) {
            libssh2_channel_free(raw)
        }
    }

    /// Writes all bytes to the remote command's stdin.
    /// - Parameter bytes: The data; may be large, partial writes are continued.
    /// - Throws: `SSHError`: `.timeout` when the peer accepts nothing and sends nothing for `readTimeout`
    ///   seconds, `.channel` when the remote closed its stdin, `.io` when the connection broke.
    func write(_ bytes: [UInt8]) throws(SSHError) {
        try ensureUsable()
        var offset = 0
        var stall = Deadline(seconds: readTimeout)
        while offset < bytes.count {
            let result = bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { start in
                    shipkeep_channel_write(raw, start + offset, buffer.count - offset)
                }
            }
            let written = try session.check(
                result,
                "libssh2_channel_write_ex",
                .channel,
                what: "writing to '\(command)' on \(session.endpoint)",
                hint: "the remote command may have exited; check its stderr"
            )
            if let written, written > 0 {
                offset += written
                stall = Deadline(seconds: readTimeout)
                continue
            }
            if written == nil && session.isSendPending {
                // A packet is half on the wire: only repeating this same write may continue it.
                guard session.waitForSocket(until: stall) else { throw stalled("writing to") }
                continue
            }
            // The peer's window is full. It opens again once the command reads its stdin, which may in turn
            // wait for us to take its output, so collect that output now.
            if try drain() {
                stall = Deadline(seconds: readTimeout)
                continue
            }
            guard !stall.hasPassed else { throw stalled("writing to") }
            try waitForInput(until: stall)
        }
        // Silence is counted from our last request too: a peer is not dead for not answering before it was asked.
        lastData = .now
    }

    /// Tells the remote command that its stdin is finished.
    /// - Throws: `SSHError` with `.channel`, `.io` or `.timeout`.
    func sendEOF() throws(SSHError) {
        try ensureUsable()
        try session.call(
            "libssh2_channel_send_eof",
            .channel,
            what: "closing the stdin of '\(command)' on \(session.endpoint)",
            hint: "",
            until: Deadline(seconds: readTimeout)
        ) { libssh2_channel_send_eof(raw) }
    }

    /// Waits up to `timeout` seconds for output.
    /// - Parameter timeout: Seconds to wait for something to arrive; 0 only collects what is already there.
    /// - Returns: stdout and stderr data as it arrived, and `.eof` (once) when the remote closed its output;
    ///   `[]` when nothing arrived in time or after `.eof` was returned.
    /// - Throws: `SSHError`: `.timeout` when no channel data arrived for `readTimeout` seconds across calls,
    ///   `.io` when the connection broke.
    func read(timeout: Double) throws(SSHError) -> [ChannelEvent] {
        let deadline = Deadline(seconds: timeout)
        while true {
            if !eofSeen {
                try ensureUsable()
                _ = try drain()
            }
            if !pending.isEmpty {
                return takePending()
            }
            if eofSeen {
                return []
            }
            let stall = Deadline(seconds: readTimeout - elapsedSinceData)
            guard !stall.hasPassed else { throw stalled("waiting for output of") }
            guard !deadline.hasPassed else { return [] }
            try waitForInput(until: deadline.earliest(stall))
        }
    }

    /// Waits `seconds` without expecting output (between `status --watch` probes), keeping the session
    /// serviced: keepalives go out and anything that arrives is kept for `read`. The wait does not count as
    /// silence from the peer.
    /// - Throws: `SSHError` `.io` when the connection broke.
    func idle(seconds: Double) throws(SSHError) {
        let deadline = Deadline(seconds: seconds)
        while !deadline.hasPassed && !eofSeen {
            try ensureUsable()
            _ = try drain()
            if !pending.isEmpty || eofSeen { break }
            try waitForInput(until: deadline)
        }
        lastData = .now
    }

    /// Waits for the end of output, closes the channel and reports how the command ended.
    ///
    /// Output that arrives meanwhile is kept for `read`.
    /// - Returns: The exit status, or the signal name without "SIG" (`"KILL"`) when a signal ended it; in
    ///   that case `status` is nil. libssh2 cannot tell a missing exit status from 0.
    /// - Throws: `SSHError`: `.timeout` when the remote does not finish within `readTimeout` of its last
    ///   output, `.channel` or `.io`.
    func waitExit() throws(SSHError) -> (status: Int32?, signal: String?) {
        while !eofSeen {
            try ensureUsable()
            let received = try drain()
            if !received && !eofSeen {
                let stall = Deadline(seconds: readTimeout - elapsedSinceData)
                guard !stall.hasPassed else { throw stalled("waiting for the end of") }
                try waitForInput(until: stall)
            }
        }
        if !isClosed {
            try ensureUsable()
            let deadline = Deadline(seconds: readTimeout)
            try session.call(
                "libssh2_channel_close",
                .channel,
                what: "closing the channel of '\(command)'",
                hint: "",
                until: deadline
            ) { libssh2_channel_close(raw) }
            try session.call(
                "libssh2_channel_wait_closed",
                .channel,
                what: "waiting for '\(command)' to close its channel",
                hint: "",
                until: deadline
            ) { libssh2_channel_wait_closed(raw) }
            isClosed = true
        }
        var name: UnsafeMutablePointer<CChar>?
        var length = 0
        _ = try session.check(
            libssh2_channel_get_exit_signal(raw, &name, &length, nil, nil, nil, nil),
            "libssh2_channel_get_exit_signal",
            .channel,
            what: "reading the exit signal of '\(command)'",
            hint: ""
        )
        // The string is a copy allocated with the session's allocator.
        defer { name.map { libssh2_free(session.raw, $0) } }
        if let name, length > 0 {
            return (nil, String(decoding: UnsafeRawBufferPointer(start: name, count: length), as: UTF8.self))
        }
        // The exit status is a value, not an error code: 0 also when the server sent none.
        return (libssh2_channel_get_exit_status(raw), nil)
    }

    // MARK: - Reading

    private enum Stream {
        case stdout, stderr
    }

    /// Reads whatever libssh2 can deliver now, without waiting, into `pending`.
    /// - Returns: Whether any data arrived.
    private func drain() throws(SSHError) -> Bool {
        var received = false
        for stream in [Stream.stdout, .stderr] {
            let bytes = try readAvailable(stream)
            if !bytes.isEmpty {
                pending.append(stream == .stdout ? .stdout(bytes) : .stderr(bytes))
                received = true
            }
        }
        if received {
            lastData = .now
        }
        // libssh2_channel_eof stays 0 while data is still queued, so EOF is never reported ahead of data.
        let atEnd = try session.check(
            libssh2_channel_eof(raw),
            "libssh2_channel_eof",
            .channel,
            what: "checking for the end of output of '\(command)'",
            hint: ""
        )
        if !eofSeen, atEnd == 1 {
            eofSeen = true
            pending.append(.eof)
        }
        return received
    }

    private func readAvailable(_ stream: Stream) throws(SSHError) -> [UInt8] {
        var collected: [UInt8] = []
        let stall = Deadline(seconds: readTimeout)
        while true {
            let sendWasPending = session.isSendPending
            let result = readBuffer.withUnsafeMutableBytes { chunk in
                let start = chunk.baseAddress?.assumingMemoryBound(to: CChar.self)
                return stream == .stdout
                    ? shipkeep_channel_read(raw, start, chunk.count)
                    : shipkeep_channel_read_stderr(raw, start, chunk.count)
            }
            let count = try session.check(
                result,
                "libssh2_channel_read_ex",
                .channel,
                what: "reading from '\(command)' on \(session.endpoint)",
                hint: "the connection broke; retry"
            )
            if let count, count > 0 {
                collected += readBuffer[0..<count]
                // Bounded: a peer that sends faster than this side takes it in is read in turns, not into one
                // ever-growing buffer (libssh2 keeps the rest, within the channel's window).
                if collected.count >= Self.maxReadBytes { return collected }
                continue
            }
            if count == nil && !sendWasPending && session.isSendPending {
                // This read started a window adjustment that is half sent; it must be repeated to finish it.
                guard session.waitForSocket(until: stall) else { throw stalled("reading from") }
                continue
            }
            return collected
        }
    }

    private func waitForInput(until deadline: Deadline) throws(SSHError) {
        var limit = deadline
        if let next = try session.sendKeepaliveIfDue() {
            limit = limit.earliest(Deadline(seconds: next))
        }
        session.socket.wait(for: Int16(POLLIN), until: limit)
    }

    private func takePending() -> [ChannelEvent] {
        var events: [ChannelEvent] = []
        for event in pending {
            switch (events.last, event) {
            case (.stdout(let previous)?, .stdout(let more)):
                events[events.count - 1] = .stdout(previous + more)
            case (.stderr(let previous)?, .stderr(let more)):
                events[events.count - 1] = .stderr(previous + more)
            default:
                events.append(event)
            }
        }
        pending = []
        return events
    }

    // MARK: - Helpers

    private var elapsedSinceData: Double {
        let elapsed = (ContinuousClock.now - lastData).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }

    private func ensureUsable() throws(SSHError) {
        guard !session.isDisconnected else {
            throw SSHError(.channel, "the connection to \(session.endpoint) was closed by disconnect(); connect again")
        }
    }

    private func stalled(_ activity: String) -> SSHError {
        SSHError(
            .timeout,
            "no data from \(session.endpoint) for \(Deadline.describe(readTimeout)) while \(activity) '\(command)'; "
                + "the host or the connection appears dead (raise the read timeout if the command is "
                + "legitimately silent for longer)"
        )
    }
}
