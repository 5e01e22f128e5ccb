import Platform

/// A file as `stat` sees it: which inode, and the size and times any write changes. Two equal identities taken
/// before and after reading a file mean that nothing wrote to it in between (to the resolution of the
/// filesystem's timestamps).
struct FileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var mtime: Int64
    var ctime: Int64

    /// The identity of `info`.
    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        mtime = FileSystem.mtime(info)
        ctime = FileSystem.ctime(info)
    }

    /// The identity of the file at `path` (links followed), or nil when it cannot be stat'ed.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }
}
