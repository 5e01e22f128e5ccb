import Foundation
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// One line of `<state>/history.jsonl`: an action on the app's services (`restart`, `stop`, `start`), for
/// `shipkeep history` to list beside the deploys. Its fields are a subset of the history's shared record (time,
/// action, who, service, outcome, duration), so the history reader decodes these lines as it decodes a deploy's.
struct ActionRecord: Codable, Equatable {
    /// When it started.
    var time: Date
    /// `restart`, `stop` or `start`.
    var action: String
    /// The controller's identity (`user@host`, the CI job), as it asked.
    var who: String?
    /// The one service it was asked for; nil for all of them.
    var service: String?
    /// `succeeded`, `unhealthy`, `failed` or `refused` (the gate said busy: nothing was done).
    var outcome: String
    /// Seconds from the request to the outcome.
    var duration: Double
}

extension StateDirectory {
    /// Service actions, one JSON line each, oldest first.
    var historyFile: String { path + "/history.jsonl" }

    /// Appends `record` to ``historyFile`` (one `write` of one line with `O_APPEND`, fsynced: a crash leaves
    /// whole lines).
    ///
    /// - Throws: ``FileSystemError``.
    func appendHistory(_ record: ActionRecord) throws {
        try FileSystem.makeDirectories(path)
        let fd = try FileSystem.open(historyFile, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        defer { close(fd) }
        let line = Self.encode(record) + [UInt8(ascii: "\n")]
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else { throw FileSystemError("write", historyFile) }
    }
}
