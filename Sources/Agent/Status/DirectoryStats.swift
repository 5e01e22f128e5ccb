import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Totals for a directory tree: regular files, their bytes and the newest modification time.
struct DirectoryStats: Equatable {
    var files = 0
    var bytes: Int64 = 0
    var newestMtime: Date?

    /// Walks `root` without following symbolic links (a link inside a data dir that points elsewhere must
    /// not make the agent read or count what lies outside). Returns nil when `root` is not a directory.
    static func measure(_ root: String) -> DirectoryStats? {
        var info = stat()
        guard lstat(root, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        var stats = DirectoryStats()
        var pending = [root]
        while let directory = pending.popLast() {
            guard let handle = opendir(directory) else { continue }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                if name == "." || name == ".." { continue }
                let path = directory + "/" + name
                guard lstat(path, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    pending.append(path)
                case S_IFREG:
                    stats.files += 1
                    stats.bytes += Int64(info.st_size)
                    let mtime = Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec)
                                     + Double(info.st_mtim.tv_nsec) / 1e9)
                    if stats.newestMtime.map({ mtime > $0 }) ?? true { stats.newestMtime = mtime }
                default:
                    continue
                }
            }
        }
        return stats
    }
}

/// Free and total bytes of the filesystem holding a path.
enum DiskSpace {
    /// Measures the filesystem of `path`, or of its nearest existing ancestor when `path` does not exist yet
    /// (a state dir before the first deploy).
    static func measure(_ path: String) -> (free: Int64, total: Int64, measured: String)? {
        var candidate = path
        while true {
            var info = statvfs()
            if statvfs(candidate, &info) == 0 {
                let unit = Int64(info.f_frsize)
                return (Int64(info.f_bavail) * unit, Int64(info.f_blocks) * unit, candidate)
            }
            guard let slash = candidate.lastIndex(of: "/"), candidate != "/" else { return nil }
            candidate = slash == candidate.startIndex ? "/" : String(candidate[..<slash])
        }
    }
}
