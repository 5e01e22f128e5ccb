import CSQLite
import SnapshotArchive
import Platform

/// Databases in a snapshot: a consistent copy made by SQLite, not the bytes of a file being written.
extension SnapshotStore {
    /// Backs up the live database `source` into `destination` (a new file in the partial snapshot) through
    /// SQLite's online backup API, and records the copy's size and hash in `entry` (whose mtime stays the live
    /// file's). The copy is read-only. When it has the same bytes as the previous snapshot's copy (the database
    /// did not change), it is replaced by a hard link to that one, so unchanged databases take no more space.
    ///
    /// - Parameters:
    ///   - previous: The entry of the previous snapshot for this path, if any.
    ///   - previousFile: That snapshot's file for this path.
    /// - Returns: Whether the copy is now a link to the previous snapshot's.
    /// - Throws: ``SnapshotError`` naming the database when SQLite cannot back it up (damaged, locked for too
    ///   long); ``FileSystemError`` when the copy cannot be read back.
    func backUpDatabase(_ entry: inout Manifest.Entry, from source: String, to destination: String,
                        previous: Manifest.Entry?, previousFile: String?) throws -> Bool {
        do {
            try SQLiteDatabase.backup(source, to: destination)
        } catch {
            throw SnapshotError(message: "cannot snapshot the database \(entry.path): \(error.detail)",
                                noSpace: error.sqliteCode.map { $0 & 0xff == SQLITE_FULL } ?? false)
        }
        let fd = try FileSystem.open(destination, O_RDONLY | O_NOFOLLOW)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileSystemError("fstat", destination) }
        fchmod(fd, 0o400)
        FileSystem.setMtime(fd, entry.mtime ?? 0)
        let size = Int64(info.st_size)
        guard let hash = ContentHash.ofPrefix(fd: fd, length: size) else {
            throw FileSystemError("read", destination, EIO)
        }
        entry.size = size
        entry.hash = hash
        guard let previous, let previousFile, previous.data == .sqlite, previous.size == size, previous.hash == hash
        else { return false }
        // Linked beside it first, then renamed over it: the copy stays if the link cannot be made.
        let linked = destination + ".link"
        guard link(previousFile, linked) == 0 else { return false }
        guard rename(linked, destination) == 0 else {
            unlink(linked)
            return false
        }
        return true
    }
}
