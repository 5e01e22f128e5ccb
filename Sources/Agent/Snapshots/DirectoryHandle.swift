import CAgentSupport
import Platform
import Shared

/// An open directory reached from a root the agent trusts without following any symbolic link, and the `…at`
/// system calls relative to it: the one place where the agent resolves names under a data dir.
///
/// A name is looked up once, in the directory that was opened, so a directory swapped for a link between a check
/// and a use cannot redirect a read or a write: the walk down opens each component with `O_NOFOLLOW`, and every
/// file is opened, created, linked or renamed relative to the descriptor. A link met on the way is a
/// ``FileSystemError`` whose ``FileSystemError/isSymbolicLink`` is true and whose path names the link.
///
/// (`openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` would do the walk in one call where the kernel has it
/// (5.6+); the component walk works on every kernel, names the link it met, and data paths are a few levels
/// deep.)
final class DirectoryHandle {
    /// The open directory; closed when the handle goes.
    let fd: Int32
    /// Where it was when opened, for messages only: never resolved again.
    let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Opens `root`, a directory the agent's config names (the work tree): links in `root` itself are the
    /// operator's choice and are followed.
    ///
    /// - Throws: ``FileSystemError``.
    static func open(_ root: String) throws -> DirectoryHandle {
        DirectoryHandle(fd: try FileSystem.open(root, O_RDONLY | O_DIRECTORY), path: root)
    }

    /// Opens `root`, then `relative` below it one component at a time, never following a link; with a
    /// `mode`, missing directories are created on the way (`mkdirat`).
    ///
    /// - Throws: ``FileSystemError``: ``FileSystemError/isSymbolicLink`` for a link on the way, `ENOENT` for a
    ///   missing component when nothing is to be created.
    static func open(root: String, relative: String, creating mode: mode_t? = nil) throws -> DirectoryHandle {
        try open(root).descend(relative, creating: mode)
    }

    /// The directory holding `relative` below `root` (opened as ``open(root:relative:creating:)`` does), and
    /// the last component's name.
    ///
    /// - Throws: ``FileSystemError``.
    static func parent(of relative: String, root: String,
                       creating mode: mode_t? = nil) throws -> (directory: DirectoryHandle, name: String) {
        try open(root).parent(of: relative, creating: mode)
    }

    /// The directory holding `relative` below this one (opened as ``descend(_:creating:)`` does), and the last
    /// component's name.
    ///
    /// - Throws: ``FileSystemError``.
    func parent(of relative: String,
                creating mode: mode_t? = nil) throws -> (directory: DirectoryHandle, name: String) {
        let (path, name) = try Self.split(relative, root: self.path)
        return (try descend(path, creating: mode), name)
    }

    /// `a/b/c` as (`a/b`, `c`).
    private static func split(_ relative: String, root: String) throws -> (parent: String, name: String) {
        if let (parent, name) = PathName.directoryAndName(relative) { return (String(parent), String(name)) }
        var parts = relative.split(separator: "/").map(String.init)
        guard let name = parts.popLast() else { throw FileSystemError("open", root + "/" + relative, EINVAL) }
        return (parts.joined(separator: "/"), name)
    }

    /// The directory `relative` below this one (this one for an empty path), each component opened without
    /// following a link.
    ///
    /// - Throws: ``FileSystemError``.
    func descend(_ relative: String, creating mode: mode_t? = nil) throws -> DirectoryHandle {
        var current = self
        for part in relative.split(separator: "/").map(String.init) {
            current = try current.subdirectory(part, creating: mode)
        }
        return current
    }

    /// The directory `name` in this one, never through a link; created with `mode` when missing and asked.
    ///
    /// - Throws: ``FileSystemError``.
    func subdirectory(_ name: String, creating mode: mode_t? = nil) throws -> DirectoryHandle {
        let full = path + "/" + name
        while true {
            let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if child >= 0 { return DirectoryHandle(fd: child, path: full) }
            let code = errno
            if code == EINTR { continue }
            if code == ENOENT, let mode {
                if mkdirat(fd, name, mode) == 0 || errno == EEXIST { continue }
                throw FileSystemError("mkdir", full)
            }
            // O_NOFOLLOW | O_DIRECTORY on a link fails with ELOOP or ENOTDIR, depending on the kernel.
            if code == ELOOP || code == ENOTDIR, let info = try? status(name), (info.st_mode & S_IFMT) == S_IFLNK {
                throw FileSystemError("open", full, ELOOP)
            }
            throw FileSystemError("open", full, code)
        }
    }

    /// The names in this directory, `.` and `..` aside, in no particular order.
    ///
    /// - Throws: ``FileSystemError``.
    func names() throws -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let stream = fdopendir(copy) else {
            let failure = FileSystemError("opendir", path)
            if copy >= 0 { close(copy) }
            throw failure
        }
        defer { closedir(stream) }
        rewinddir(stream)
        return FileSystem.names(of: stream)
    }

    /// `fstatat` of `name` without following it, or nil when nothing has that name.
    ///
    /// - Throws: ``FileSystemError`` for any failure other than a missing name.
    func status(_ name: String) throws -> stat? {
        var info = stat()
        if fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 { return info }
        if errno == ENOENT { return nil }
        throw FileSystemError("stat", path + "/" + name)
    }

    /// Opens the file `name` here, never through a link (`O_NOFOLLOW` is always added).
    ///
    /// - Throws: ``FileSystemError`` (``FileSystemError/isSymbolicLink`` when `name` is a link).
    func openFile(_ name: String, _ flags: Int32, mode: mode_t = 0o600) throws -> Int32 {
        while true {
            let opened = openat(fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode)
            if opened >= 0 { return opened }
            if errno != EINTR { throw FileSystemError("open", path + "/" + name) }
        }
    }

    /// Creates a new file named `prefix-<16 random hex digits>` here (`O_CREAT | O_EXCL | O_NOFOLLOW`: never an
    /// existing file, never through a link), open for writing and reading; returns its name and descriptor.
    ///
    /// - Throws: ``FileSystemError``.
    func createUnique(_ prefix: String, mode: mode_t) throws -> (name: String, fd: Int32) {
        while true {
            let name = Self.uniqueName(prefix)
            do {
                return (name, try openFile(name, O_RDWR | O_CREAT | O_EXCL, mode: mode))
            } catch let error as FileSystemError where error.code == EEXIST {
                continue
            }
        }
    }

    /// Renames `name` to a new name `prefix-<16 random hex digits>` in this directory, never replacing
    /// anything (`renameat2` with `RENAME_NOREPLACE`), and makes the rename durable; returns the new name.
    /// Whatever `name` is moves whole, with every descriptor open on it: nothing is copied, so nothing that is
    /// being appended is missed.
    ///
    /// - Throws: ``FileSystemError``.
    func moveAside(_ name: String, as prefix: String) throws -> String {
        try moveAside(name, suffixes: [""], as: prefix)[0]
    }

    /// Moves `name` + each of `suffixes` (`""`, `"-wal"`, …) aside as ``moveAside(_:as:)`` does, to one new
    /// stem `prefix-<16 random hex digits>` + the same suffix: a database and its companions stay together
    /// (SQLite finds a database's `-wal` by its name), so the moved database opens with its own `-wal`.
    ///
    /// - Returns: The new names, in the order of `suffixes`.
    /// - Throws: ``FileSystemError``; what was moved before the failure stays moved.
    func moveAside(_ name: String, suffixes: [String], as prefix: String) throws -> [String] {
        var stem = Self.uniqueName(prefix)
        var moved: [String] = []
        for suffix in suffixes {
            // Taken only if planted or by a 1-in-2^64 chance: the rest get a new stem, nothing is replaced.
            while try !move(name + suffix, toNew: stem + suffix) { stem = Self.uniqueName(prefix) }
            moved.append(stem + suffix)
        }
        return moved
    }

    /// Renames `name` to `newName` here, never replacing anything, and makes the rename durable: false when
    /// `newName` exists. On a filesystem without `RENAME_NOREPLACE`, `newName` is checked free first (the names
    /// this is given are new and random).
    ///
    /// - Throws: ``FileSystemError``.
    private func move(_ name: String, toNew newName: String) throws -> Bool {
        while true {
            if shipkeep_renameat_noreplace(fd, name, fd, newName) == 0 {
                sync()
                return true
            }
            switch errno {
            case EINTR:
                continue
            case EEXIST:
                return false
            case EINVAL:
                guard try status(newName) == nil else { return false }
                guard renameat(fd, name, fd, newName) == 0 else { throw FileSystemError("rename", path + "/" + name) }
                sync()
                return true
            default:
                throw FileSystemError("rename", path + "/" + name)
            }
        }
    }

    /// Gives the file `existing` here the further name `name` (`linkat`), which never replaces anything: false
    /// when `name` exists.
    ///
    /// - Throws: ``FileSystemError`` for any failure other than an existing `name`.
    func link(_ existing: String, as name: String) throws -> Bool {
        if linkat(fd, existing, fd, name, 0) == 0 {
            sync()
            return true
        }
        if errno == EEXIST { return false }
        throw FileSystemError("link", path + "/" + name)
    }

    /// Creates the symbolic link `name` → `target` here; false when `name` exists.
    ///
    /// - Throws: ``FileSystemError`` for any failure other than an existing `name`.
    func makeSymlink(_ name: String, target: String) throws -> Bool {
        if symlinkat(target, fd, name) == 0 { return true }
        if errno == EEXIST { return false }
        throw FileSystemError("symlink", path + "/" + name)
    }

    /// Removes the file `name` here (never a directory).
    func remove(_ name: String) {
        unlinkat(fd, name, 0)
    }

    /// fsyncs the directory, so a new entry or a rename in it survives a crash.
    func sync() {
        fsync(fd)
    }

    /// The directories holding paths below one root, opened in turn as ``parent(of:root:creating:)`` opens
    /// them and the last one kept open: a walk in path order opens each directory once.
    struct Parents {
        let root: String
        private var last: (path: String, directory: DirectoryHandle)?

        init(root: String) {
            self.root = root
        }

        /// The directory holding `relative`, and the last component's name.
        ///
        /// - Throws: ``FileSystemError``.
        mutating func parent(of relative: String) throws -> (directory: DirectoryHandle, name: String) {
            let (path, name) = try DirectoryHandle.split(relative, root: root)
            if let last, last.path == path { return (last.directory, name) }
            let directory = try DirectoryHandle.open(root: root, relative: path)
            last = (path, directory)
            return (directory, name)
        }
    }

    /// `prefix-` and 16 random hex digits: a name nobody can plant in advance.
    static func uniqueName(_ prefix: String) -> String {
        let digits = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return prefix + "-" + String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The first existing component of `root/relative` that is a symbolic link, as a path, or nil; looked up
    /// by descriptor from `root` down. A component that is missing, or not a directory, ends the search.
    ///
    /// - Parameter includingLast: whether the last component counts (false when it is itself a link to keep).
    /// - Throws: ``FileSystemError`` when a component cannot be examined.
    static func firstSymbolicLink(root: String, relative: String, includingLast: Bool) throws -> String? {
        var current: DirectoryHandle
        do {
            current = try open(root)
        } catch let error as FileSystemError where error.code == ENOENT || error.code == ENOTDIR {
            return nil
        }
        let parts = relative.split(separator: "/").map(String.init)
        for (index, part) in parts.enumerated() {
            guard index < parts.count - 1 || includingLast else { break }
            guard let info = try current.status(part) else { return nil }
            switch info.st_mode & S_IFMT {
            case S_IFLNK: return current.path + "/" + part
            case S_IFDIR where index < parts.count - 1:
                do {
                    current = try current.subdirectory(part)
                } catch let error as FileSystemError where error.isSymbolicLink {
                    return error.path
                }
            default: return nil
            }
        }
        return nil
    }
}
