import Platform
import Shared

/// `lstat` of many paths below one root that share a few directories, each name looked up in a descriptor of
/// its directory (opened once, closed when this is released) instead of walking the whole path again: a
/// verify or data-guard pass over 5,000 files spent half of each `lstat` looking up the same components.
///
/// A directory is opened as its path resolves then; the descriptor then stands for it for the rest of the pass
/// (as the pass's other answers stand for one moment). Paths that are not plain (see
/// ``PathName/directoryAndName(_:)``) are stat'ed whole.
final class EntryStatus {
    let root: String
    private var directories: [Substring: Int32] = [:]

    init(root: String) {
        self.root = root
    }

    deinit {
        for fd in directories.values where fd >= 0 { close(fd) }
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
