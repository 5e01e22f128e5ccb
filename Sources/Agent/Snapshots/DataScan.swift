import Platform

/// A stat-only walk of an app's data dirs: what a snapshot will hold, and how much it will need to copy.
struct DataScan {
    struct Item {
        var path: String
        var info: stat
        /// A database's `-wal`, `-shm` or `-journal`: part of the database, which is snapshotted whole through
        /// SQLite, so not a file of its own in a snapshot.
        var isDatabaseCompanion = false
    }

    /// Every entry below the data dirs (the dirs themselves included), parents before children, sorted.
    var items: [Item] = []
    var fileCount = 0
    var byteCount: Int64 = 0
    /// The databases that have companions beside them (at least those; a database has none while closed).
    var databases: Set<String> = []

    /// Walks `dataDirs` (relative to `root`) without following symbolic links. Missing data dirs are skipped.
    ///
    /// - Throws: ``FileSystemError`` when a directory cannot be read.
    static func walk(root: String, dataDirs: [String]) throws -> DataScan {
        var scan = DataScan()
        for dir in dataDirs {
            // A data dir reached through a link (`var` -> /etc for `var/data`) is outside the work tree: the walk
            // does not enter it.
            try DirectoryWalker.walk(root: root, relative: dir) { path, info in
                switch info.st_mode & S_IFMT {
                case S_IFDIR, S_IFLNK:
                    scan.items.append(Item(path: path, info: info))
                case S_IFREG:
                    scan.items.append(Item(path: path, info: info))
                    scan.fileCount += 1
                    scan.byteCount += Int64(info.st_size)
                default:
                    break  // sockets, fifos, devices: not data
                }
            }
        }
        scan.markDatabaseCompanions(root: root)
        return scan
    }

    /// Marks the companions of databases, by name (``SQLiteDatabase/companionSuffixes``) and by the header of
    /// the file they belong to: only files with a companion's name are opened.
    private mutating func markDatabaseCompanions(root: String) {
        let files = Set(items.lazy.filter { ($0.info.st_mode & S_IFMT) == S_IFREG }.map(\.path))
        for index in items.indices where (items[index].info.st_mode & S_IFMT) == S_IFREG {
            let path = items[index].path
            guard let suffix = SQLiteDatabase.companionSuffixes.first(where: { path.hasSuffix($0) }) else { continue }
            let database = String(path.dropLast(suffix.count))
            guard files.contains(database),
                  databases.contains(database) || DataClassifier.hasSQLiteHeader(root + "/" + database)
            else { continue }
            items[index].isDatabaseCompanion = true
            databases.insert(database)
            fileCount -= 1
            byteCount -= Int64(items[index].info.st_size)
        }
    }

    /// Bytes that a snapshot against `previous` would copy: files new or changed (size or mtime) since it, and
    /// every database (backed up at each snapshot: its commits may be only in its `-wal`) with its `-wal`, whose
    /// pages the copy takes in.
    func bytesToCopy(against previous: [String: Manifest.Entry]) -> Int64 {
        items.reduce(0) { total, item in
            guard (item.info.st_mode & S_IFMT) == S_IFREG else { return total }
            let size = Int64(item.info.st_size)
            if item.isDatabaseCompanion { return item.path.hasSuffix("-wal") ? total + size : total }
            let old = previous[item.path]
            let unchanged = old?.kind == .file && old?.data != .sqlite && !databases.contains(item.path)
                && old?.size == size && old?.mtime == FileSystem.mtime(item.info)
            if unchanged { return total }
            // A chunked file that kept its inode costs its chunks from the first one it grew into, if it only grew.
            if let old, old.chunks != nil, let chunkSize = old.chunkSize, old.inode == UInt64(item.info.st_ino),
               SnapshotStore.chunks(size, dataDirs: []) {
                return total + size - min(size, old.size ?? 0) / chunkSize * chunkSize
            }
            return total + size
        }
    }
}

/// A depth-first walk below a directory that never follows symbolic links (a link planted in a data dir must
/// not make the agent read, count or copy what lies outside it). Entries come parents first, names sorted.
enum DirectoryWalker {
    /// Visits `root/relative` itself (if it is a directory, reached without following a link) and everything
    /// below it, with paths relative to `root`. The walk goes by directory descriptor (``DirectoryHandle``): a
    /// directory swapped for a link while it runs is not entered. Entries that vanish during the walk are
    /// skipped.
    ///
    /// - Throws: ``FileSystemError`` when a directory cannot be read.
    static func walk(root: String, relative: String, visit: (String, stat) throws -> Void) throws {
        let directory: DirectoryHandle
        do {
            directory = try DirectoryHandle.open(root: root, relative: relative)
        } catch let error as FileSystemError where [ENOENT, ENOTDIR, ELOOP].contains(error.code) {
            return
        }
        var info = stat()
        guard fstat(directory.fd, &info) == 0 else { throw FileSystemError("stat", directory.path) }
        try visit(relative, info)
        try descend(directory, relative: relative, visit: visit)
    }

    /// Visits every entry below the directory `path` (not `path` itself), in no particular order, by directory
    /// descriptor: no path strings, no sorting, each name looked up in its own directory (for totals over a
    /// large tree, such as a status probe's, where the walk above spends most of its time sorting names and
    /// resolving full paths). Never follows a symbolic link; unreadable subdirectories are skipped.
    ///
    /// - Returns: false when `path` is not a directory (or a link to one) or cannot be opened.
    static func visitUnordered(_ path: String, visit: (stat) -> Void) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        descendUnordered(fd, visit: visit)
        return true
    }

    /// Walks the open directory `fd` (and closes it).
    private static func descendUnordered(_ fd: Int32, visit: (stat) -> Void) {
        guard let handle = fdopendir(fd) else {
            close(fd)
            return
        }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            withUnsafePointer(to: &entry.pointee.d_name) { raw in
                raw.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) { name in
                    if name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0)) { return }
                    var info = stat()
                    guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
                    visit(info)
                    if (info.st_mode & S_IFMT) == S_IFDIR {
                        let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                        if child >= 0 { descendUnordered(child, visit: visit) }
                    }
                }
            }
        }
    }

    private static func descend(_ directory: DirectoryHandle, relative: String,
                                visit: (String, stat) throws -> Void) throws {
        for name in try directory.names().sorted() {
            let path = relative + "/" + name
            guard let info = try directory.status(name) else { continue }
            try visit(path, info)
            guard (info.st_mode & S_IFMT) == S_IFDIR else { continue }
            let child: DirectoryHandle
            do {
                child = try directory.subdirectory(name)
            } catch let error as FileSystemError where [ENOENT, ENOTDIR, ELOOP].contains(error.code) {
                continue  // gone, or swapped for a link, since it was listed
            }
            try descend(child, relative: path, visit: visit)
        }
    }
}
