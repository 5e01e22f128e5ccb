import Shared
import Platform

/// What a data file's own bytes say about its kind (see ``DataKindRules`` for the rest of the rule).
enum DataClassifier {
    /// Whether the file at `path` begins with SQLite's 16-byte header. Links are not followed; a file that
    /// cannot be read is not a database.
    static func hasSQLiteHeader(_ path: String) -> Bool {
        let fd = Platform.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return hasSQLiteHeader(fd: fd)
    }

    /// Whether the open file `fd` begins with SQLite's header (read with `pread`, so its offset is untouched).
    static func hasSQLiteHeader(fd: Int32) -> Bool {
        var header = [UInt8](repeating: 0, count: DataKindRules.sqliteHeader.count)
        let count = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return count == header.count && header == DataKindRules.sqliteHeader
    }
}
