import Shared
import Platform

/// An app's history on the VM: `STATE/history.jsonl`, one ``HistoryRecord`` a line, appended by whatever acts on
/// the app (a deploy's worker at its end, a restore, a recovery, a restart, `env`). Bounded: once the file
/// passes `pruneAbove` bytes the newest `kept` lines are kept.
///
/// Appends take an `flock` on the file itself; pruning replaces it by rename while holding it, and an appender
/// that got the lock on a file since replaced opens the new one and tries again, so no record is lost to a
/// concurrent prune.
struct HistoryLog {
    /// The history file.
    let path: String
    /// Lines kept by a prune.
    let kept: Int
    /// The size in bytes past which an append prunes.
    let pruneAbove: Int

    /// Lines kept by default: the most `shipkeep history -n` shows.
    static let defaultKept = 1000
    /// About twice ``defaultKept`` typical lines.
    static let defaultPruneAbove = 512 * 1024

    /// The history of the app whose state dir is `state`.
    init(state: StateDirectory, kept: Int = defaultKept, pruneAbove: Int = defaultPruneAbove) {
        path = state.path + "/history.jsonl"
        self.kept = kept
        self.pruneAbove = pruneAbove
    }

    /// Appends `record` (fsynced). Failures are reported as the return value, never thrown: history is a record
    /// of what happened, and must not make what happened fail.
    @discardableResult
    func append(_ record: HistoryRecord) -> FileSystemError? {
        let line = StateDirectory.encode(record) + [UInt8(ascii: "\n")]
        do {
            try FileSystem.makeDirectories(PathName.parent(of: path))
            while true {
                let fd = try FileSystem.open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600)
                defer { close(fd) }
                while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
                // A prune renamed a new file over the one opened: append to that one instead.
                var opened = stat()
                var current = stat()
                guard fstat(fd, &opened) == 0, stat(path, &current) == 0, opened.st_ino == current.st_ino else {
                    continue
                }
                let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                guard written == line.count, fsync(fd) == 0 else { throw FileSystemError("write", path) }
                if opened.st_size + off_t(line.count) > pruneAbove { prune() }
                return nil
            }
        } catch let error as FileSystemError {
            return error
        } catch {
            return FileSystemError("write", path, EIO)
        }
    }

    /// The records in the file, oldest first; lines that do not decode (a torn last line) are skipped.
    func read() -> [HistoryRecord] {
        guard let bytes = FileSystem.read(path) else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap {
            try? StateDirectory.decode(HistoryRecord.self, from: Array($0))
        }
    }

    /// Keeps the newest `kept` lines. The caller holds the file's lock.
    private func prune() {
        guard let bytes = FileSystem.read(path) else { return }
        let lines = bytes.split(separator: UInt8(ascii: "\n"))
        guard lines.count > kept else { return }
        let keep = lines.suffix(kept).flatMap { Array($0) + [UInt8(ascii: "\n")] }
        try? FileSystem.writeAtomically(keep, to: path, mode: 0o600)
    }
}
