import Platform
import Shared

/// What the running app appended to its append-only files between the snapshot and the restart, copied aside
/// just before the restart. If the new code then destroys such a file (a log opened with "w" on start), the
/// rollback puts back every byte written up to the restart, not only the snapshot's: the lines the old bot
/// wrote while the update and its hooks ran are data too.
///
/// Kept in the deploy's state dir, one file per data file holding the bytes past its recorded size.
struct AppendedTail {
    /// The directory the tails are kept in.
    let dir: String

    /// Copies, for every append-only file of `manifest` that kept its inode and grew, the bytes past its recorded
    /// size. Returns how many bytes were copied.
    ///
    /// - Throws: ``FileSystemError`` when a tail cannot be written (the deploy then goes on without it).
    @discardableResult
    func capture(root: String, manifest: Manifest) throws -> Int64 {
        FileSystem.removeTree(dir)
        var copied: Int64 = 0
        // By descriptor from the work tree down: a directory swapped for a link is not read through.
        var parents = DirectoryHandle.Parents(root: root)
        for entry in manifest.entries where entry.kind == .file && entry.dataKind == .append {
            let directory: DirectoryHandle, name: String
            do {
                (directory, name) = try parents.parent(of: entry.path)
            } catch let error as FileSystemError where error.code == ENOENT || error.code == ENOTDIR {
                continue  // its directory is gone: nothing was appended there
            }
            guard let info = try directory.status(name), (info.st_mode & S_IFMT) == S_IFREG,
                  entry.inode.map({ $0 == UInt64(info.st_ino) }) ?? false,
                  Int64(info.st_size) > entry.size ?? 0 else { continue }
            let input = try directory.openFile(name, O_RDONLY)
            defer { close(input) }
            let path = dir + "/" + entry.path
            try FileSystem.makeDirectories(PathName.parent(of: path))
            let output = try FileSystem.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
            defer { close(output) }
            let start = entry.size ?? 0
            copied += try FileSystem.copy(from: input, to: output, length: Int64(info.st_size) - start, path: path,
                                          sourceOffset: start)
        }
        return copied
    }

    /// Appends the tail kept for `entry` (if any) to the open file `fd`, which holds the snapshot's bytes.
    /// Returns the bytes appended.
    ///
    /// - Throws: ``FileSystemError``.
    func append(_ entry: Manifest.Entry, to fd: Int32, path: String) throws -> Int64 {
        guard let input = try? FileSystem.open(dir + "/" + entry.path, O_RDONLY | O_NOFOLLOW) else { return 0 }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0 else { throw FileSystemError("fstat", dir + "/" + entry.path) }
        return try FileSystem.copy(from: input, to: fd, length: Int64(info.st_size), path: path,
                                   destinationOffset: entry.size ?? 0)
    }

    /// Removes the tails.
    func remove() {
        FileSystem.removeTree(dir)
    }
}
