import Shared
import Platform
import Synchronization

/// A deploy's events, appended to `<state>/deploys/<id>.jsonl` as they happen. Phase transitions, warnings
/// and the result are fsynced before the deploy goes on, so after a crash the journal says exactly how far
/// it got. `attach` replays it; recovery reads it.
///
/// The journal's `seq` is the one numbering of a deploy's events: the serving agent relays them as they are,
/// so a live deploy and any replay (`attach --from-seq`) number every event alike. The worker's heartbeats
/// (``beatIfQuiet(after:)``, from a ``JournalHeartbeat`` thread) are journal events too, hence the lock.
final class Journal: Sendable {
    let path: String
    private let fd: Int32
    private let state: Mutex<Cursor>

    /// What the writer knows between two appends.
    private struct Cursor {
        var seq: Int
        /// The phase the heartbeat counts seconds in: the last one started.
        var phase = DeployPhase.preflight
        var phaseStarted = ContinuousClock.now
        var lastWrite = ContinuousClock.now
        /// Set by the result: nothing is appended after it, not even a heartbeat.
        var closed = false
    }

    /// Creates (or continues) the journal of `deploy`.
    ///
    /// - Throws: ``FileSystemError``.
    init(state: StateDirectory, deploy: String) throws {
        try FileSystem.makeDirectories(state.deploysDir)
        path = state.journal(deploy)
        fd = try FileSystem.open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        let bytes = FileSystem.read(path) ?? []
        // A writer killed mid-line left a torn line: end it, so the next event starts a line of its own instead
        // of being glued to the torn one (and lost to every reader).
        if let last = bytes.last, last != UInt8(ascii: "\n") {
            var newline = UInt8(ascii: "\n")
            _ = Platform.write(fd, &newline, 1)
        }
        let events = Journal.decode(bytes)
        self.state = Mutex(Cursor(seq: events.last?.seq ?? 0, closed: events.contains(where: \.isResult)))
        FileSystem.syncDirectory(of: path)
    }

    deinit {
        close(fd)
    }

    /// The sequence number of the last event appended.
    var seq: Int { state.withLock { $0.seq } }

    /// Appends an event, numbered after the last; durable before returning unless it is progress or a log line.
    @discardableResult
    func append(_ event: Event, id: String) -> EventMessage {
        state.withLock { cursor in
            if case .phase(let phase) = event, phase.state == .started {
                cursor.phase = phase.name
                cursor.phaseStarted = .now
            }
            return write(event, id: id, cursor: &cursor)
        }
    }

    /// Appends a heartbeat — `progress` counting the seconds spent in the current phase — when nothing was
    /// appended for `interval` seconds: the controller, which takes a silent peer for dead, then knows the
    /// deploy is alive through a long silent hook or restart. Nothing after the result.
    func beatIfQuiet(after interval: Double, id: String) {
        state.withLock { cursor in
            guard !cursor.closed, Self.seconds(since: cursor.lastWrite) >= interval else { return }
            let done = Int64(Self.seconds(since: cursor.phaseStarted))
            write(.progress(.init(phase: cursor.phase, done: done, total: nil, unit: "seconds")), id: id,
                  cursor: &cursor)
        }
    }

    /// Seconds until a heartbeat would be due (0 when it is).
    func secondsUntilBeat(interval: Double) -> Double {
        state.withLock { max(0, interval - Self.seconds(since: $0.lastWrite)) }
    }

    @discardableResult
    private func write(_ event: Event, id: String, cursor: inout Cursor) -> EventMessage {
        cursor.seq += 1
        let message = EventMessage(id: id, seq: cursor.seq, event: event)
        let line = WireCodec.encode(message) + [UInt8(ascii: "\n")]
        _ = line.withUnsafeBytes { Platform.write(fd, $0.baseAddress, $0.count) }
        switch event {
        case .progress, .log: break
        case .result:
            cursor.closed = true
            fsync(fd)
        default: fsync(fd)
        }
        cursor.lastWrite = .now
        return message
    }

    private static func seconds(since instant: ContinuousClock.Instant) -> Double {
        let elapsed = (ContinuousClock.now - instant).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }

    /// The events in a journal file, in order; a torn line (a crash mid-write) is ignored.
    static func read(_ path: String) -> [EventMessage] {
        decode(FileSystem.read(path) ?? [])
    }

    private static func decode(_ bytes: [UInt8]) -> [EventMessage] {
        bytes.split(separator: UInt8(ascii: "\n")).compactMap { try? WireCodec.decodeEvent(Array($0)) }
    }
}

extension EventMessage {
    /// Whether this is a request's last event.
    var isResult: Bool {
        if case .result = event { true } else { false }
    }
}
