import Platform
import Shared

/// `health.fresh`, "the bot is writing again": judged by what changed under the path since the restart finished,
/// never by comparing file times with the clock. A file time comes from the file system's clock (a file server's,
/// a coarse one) and the old bot's last writes could pass for new ones when it runs ahead; a change is a change.
///
/// What the path looks like (its files, bytes and newest modification time) is taken when the watch is made —
/// right after the restart — and a write counts once an attempt sees something other than that. The bot is fresh
/// while the last change it was seen making is at most `within` seconds old.
struct FreshnessWatch {
    let check: FreshnessCheck
    private let path: String
    /// What the path looked like at the last change seen (at first: when the restart finished).
    private var seen: DirectoryStats?
    /// When a change was last seen, nil before the first since the restart.
    private var changedAt: Timestamp?

    /// Takes the baseline of `check.path` under `root` now.
    init(_ check: FreshnessCheck, root: String) {
        self.check = check
        path = root + "/" + check.path
        seen = Self.measure(path)
    }

    /// Looks at the path again; returns why the bot is not fresh, or nil when it is.
    mutating func failure(now: Timestamp = Timestamp.now()) -> String? {
        let current = Self.measure(path)
        if current != seen {
            seen = current
            changedAt = now
        }
        guard let changedAt else {
            return "nothing under \(check.path) was written since the restart (fresh within \(check.within)s)"
        }
        let quiet = now.timeIntervalSince(changedAt)
        guard quiet <= Double(check.within) else {
            return "nothing under \(check.path) was written for \(Int(quiet))s (fresh within \(check.within)s)"
        }
        return nil
    }

    /// A directory's files, bytes and newest time; a file's size and time; nil when the path does not exist.
    private static func measure(_ path: String) -> DirectoryStats? {
        if let stats = DirectoryStats.measure(path) { return stats }
        guard let info = try? FileSystem.lstatIfExists(path) else { return nil }
        return DirectoryStats(files: 1, bytes: Int64(info.st_size),
                              newestMtime: Timestamp(timeIntervalSince1970: Double(FileSystem.mtime(info)) / 1e9))
    }
}
