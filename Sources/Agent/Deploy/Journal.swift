import FoundationEssentials
import Shared
import Platform

/// A deploy's events, appended to `<state>/deploys/<id>.jsonl` as they happen. Phase transitions, warnings
/// and the result are fsynced before the deploy goes on, so after a crash the journal says exactly how far
/// it got. `attach` replays it; recovery reads it.
final class Journal {
    let path: String
    private let fd: Int32
    private(set) var seq = 0

    /// Creates (or continues) the journal of `deploy`.
    ///
    /// - Throws: ``FileSystemError``.
    init(state: StateDirectory, deploy: String) throws {
        try FileSystem.makeDirectories(state.deploysDir)
        path = state.journal(deploy)
        fd = try FileSystem.open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        seq = Journal.read(path).last?.seq ?? 0
        FileSystem.syncDirectory(of: path)
    }

    deinit {
        close(fd)
    }

    /// Appends an event, numbered after the last; durable before returning unless it is progress or a log line.
    @discardableResult
    func append(_ event: Event, id: String) -> EventMessage {
        seq += 1
        let message = EventMessage(id: id, seq: seq, event: event)
        let line = WireCodec.encode(message) + [UInt8(ascii: "\n")]
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        switch event {
        case .progress, .log: break
        default: fsync(fd)
        }
        return message
    }

    /// The events in a journal file, in order; a torn last line (a crash mid-write) is ignored.
    static func read(_ path: String) -> [EventMessage] {
        guard let bytes = FileSystem.read(path) else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { try? WireCodec.decodeEvent(Array($0)) }
    }
}
