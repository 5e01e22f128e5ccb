import Platform
import Shared

/// What one pass over a manifest asks of many paths below one root that share a few directories — whether a
/// symbolic link stands above each, and its `lstat` — answered once per directory: the link check of a directory
/// is made once, and each name is stat'ed in a descriptor of its directory (opened once, closed when this is
/// released) instead of walking the whole path again. A verify or data-guard pass over 5,000 files walked the
/// work tree down for each of them, and spent half of each `lstat` looking up the same components.
///
/// A directory's answers are taken when it is first asked about and stand for the rest of the pass (as the
/// pass's other answers stand for one moment); repairs do not rely on them: they write through
/// ``DirectoryHandle``, which refuses a link wherever it meets one. Paths that are not plain (see
/// ``PathName/directoryAndName(_:)``) are looked up whole.
final class EntryStatus {
    let root: String
    private var directories: [Substring: Int32] = [:]
    private var linksAbove: [Substring: String?] = [:]

    init(root: String) {
        self.root = root
    }

    deinit {
        for fd in directories.values where fd >= 0 { close(fd) }
    }

    /// The first symbolic link on the way to `root/relative`, its last component not counted (see
    /// ``FileSystem/symlinkOnTheWay(root:relative:includingLast:)``), or nil.
    ///
    /// - Throws: ``FileSystemError`` when a component cannot be examined.
    func linkAbove(_ relative: String) throws -> String? {
        guard let directory = PathName.directoryAndName(relative)?.directory else {
            return try FileSystem.symlinkOnTheWay(root: root, relative: relative, includingLast: false)
        }
        if let known = linksAbove[directory] { return known }
        let found = try FileSystem.symlinkOnTheWay(root: root, relative: relative, includingLast: false)
        linksAbove[directory] = .some(found)
        return found
    }

    /// The `lstat` of `root/relative`, nil when it does not exist (or a directory on the way does not).
    ///
    /// - Throws: ``FileSystemError`` for any other failure.
    func lstatIfExists(_ relative: String) throws -> stat? {
        guard let (directory, name) = PathName.directoryAndName(relative) else {
            return try FileSystem.lstatIfExists(root + "/" + relative)
        }
        let fd: Int32
        if let known = directories[directory] {
            fd = known
        } else {
            fd = open(directory.isEmpty ? root : root + "/" + directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            // A directory that cannot be opened for another reason: stat'ed by path, which says why.
            if fd < 0 && errno != ENOENT && errno != ENOTDIR { return try FileSystem.lstatIfExists(root + "/" + relative) }
            directories[directory] = fd
        }
        guard fd >= 0 else { return nil }  // a directory on the way does not exist
        var info = stat()
        if fstatat(fd, String(name), &info, AT_SYMLINK_NOFOLLOW) == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw FileSystemError("lstat", root + "/" + relative)
    }
}
