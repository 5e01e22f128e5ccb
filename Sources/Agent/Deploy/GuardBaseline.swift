import Shared
import SnapshotArchive
import Platform

/// What the data guard of a `restart` or `start` compares against: the data files as they are just before the
/// services restart, as a manifest the ``DataVerifier`` reads (no snapshot is taken: that is a deploy's cost).
/// Append-only files get the hash of their current content — taken from the newest snapshot when the file is
/// unchanged since (same inode, size and mtime), else read now — so that new code that truncates and rewrites a
/// file is caught even after it has grown past its old size; databases are `quick_check`ed; any file that
/// vanishes (a rotation aside) is damage, as after a deploy.
enum GuardBaseline {
    /// The baseline of `app`'s data dirs now.
    ///
    /// - Throws: ``FileSystemError`` when the data dirs cannot be walked.
    static func take(_ app: AppConfig) throws -> Manifest {
        let scan = try DataScan.walk(root: app.path, dataDirs: app.data)
        let previous = SnapshotStore(dir: app.snapshots.dir).latest()?.index() ?? [:]
        var entries: [Manifest.Entry] = []
        var bytes: Int64 = 0
        for item in scan.items where (item.info.st_mode & S_IFMT) == S_IFREG && !item.isDatabaseCompanion {
            let path = app.path + "/" + item.path
            let size = Int64(item.info.st_size)
            let mtime = FileSystem.mtime(item.info)
            let inode = UInt64(item.info.st_ino)
            let kind = scan.databases.contains(item.path) ? DataKind.sqlite
                : app.kinds.kind(of: item.path, isSQLite: DataClassifier.hasSQLiteHeader(path))
            var entry = Manifest.Entry(path: item.path, kind: .file, size: size, mtime: mtime,
                                       mode: UInt32(item.info.st_mode & 0o7777), data: kind, inode: inode)
            if kind == .append {
                if let old = previous[item.path], old.inode == inode, old.size == size, old.mtime == mtime,
                   let hash = old.hash {
                    entry.hash = hash
                } else if let (directory, name) = try? DirectoryHandle.parent(of: item.path, root: app.path),
                          let fd = try? directory.openFile(name, O_RDONLY | O_NONBLOCK) {
                    entry.hash = ContentHash.ofPrefix(fd: fd, length: size)
                    close(fd)
                }
                // A file that could not be read has no hash: the guard then checks its size and presence only.
                if entry.hash == nil { continue }
            }
            bytes += size
            entries.append(entry)
        }
        let info = SnapshotInfo(id: "before-restart", createdAt: .now(), deploy: nil, commit: nil, files: entries.count,
                                bytes: bytes, linked: 0, copied: 0, copiedBytes: 0)
        return Manifest(info: info, dataDirs: app.data, entries: entries)
    }

    /// The guard's findings against `baseline` at `depth`, one line per damaged file.
    static func damage(_ verifier: DataVerifier, _ depth: DataVerifier.Depth) -> [String] {
        var hashed: Int64 = 0
        let found = (try? verifier.inspect(depth, hashed: &hashed)) ?? []
        return found.filter(\.repairable).map { $0.describe("after the restart") }
    }
}
