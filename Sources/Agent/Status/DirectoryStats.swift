import Platform
import Shared

/// Totals for a directory tree: regular files, their bytes and the newest modification time.
struct DirectoryStats: Equatable {
    var files = 0
    var bytes: Int64 = 0
    var newestMtime: Timestamp?

    /// Measures the tree at `path` without following symbolic links. Returns nil when `path` is not a
    /// directory (or cannot be read).
    static func measure(_ path: String) -> DirectoryStats? {
        var stats = DirectoryStats()
        var newest: Int64?
        let found = DirectoryWalker.visitUnordered(path) { info in
            guard (info.st_mode & S_IFMT) == S_IFREG else { return }
            stats.files += 1
            stats.bytes += Int64(info.st_size)
            let mtime = FileSystem.mtime(info)
            if newest.map({ mtime > $0 }) ?? true { newest = mtime }
        }
        stats.newestMtime = newest.map { Timestamp(timeIntervalSince1970: Double($0) / 1e9) }
        return found ? stats : nil
    }
}

/// Free and total bytes of the filesystem holding a path.
enum DiskSpace {
    /// Measures the filesystem of `path`, or of its nearest existing ancestor when `path` does not exist yet
    /// (a state dir before the first deploy).
    static func measure(_ path: String) -> (free: Int64, total: Int64, measured: String, filesystem: UInt64)? {
        var candidate = path
        while true {
            var info = statvfs()
            if statvfs(candidate, &info) == 0 {
                let unit = Int64(info.f_frsize)
                return (Int64(info.f_bavail) * unit, Int64(info.f_blocks) * unit, candidate, UInt64(info.f_fsid))
            }
            guard let slash = candidate.lastIndex(of: "/"), candidate != "/" else { return nil }
            candidate = slash == candidate.startIndex ? "/" : String(candidate[..<slash])
        }
    }
}
