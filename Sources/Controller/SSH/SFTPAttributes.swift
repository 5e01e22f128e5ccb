import CLibSSH2

/// What `SFTPClient.stat` reports about a remote path (following symlinks).
struct SFTPAttributes: Equatable {
    /// The size in bytes, when the server reported it.
    var size: UInt64?
    /// The permission bits (`0o7777`), when the server reported them.
    var permissions: UInt32?
    /// Whether the path is a directory.
    var isDirectory: Bool
    /// Whether the path is a regular file.
    var isRegularFile: Bool
    /// Seconds since the epoch of the last modification, when reported.
    var modificationTime: UInt64?

    /// Reads the fields libssh2 marks as present.
    /// - Parameter raw: The attributes libssh2 filled in.
    init(_ raw: LIBSSH2_SFTP_ATTRIBUTES) {
        let flags = UInt(raw.flags)
        size = flags & UInt(LIBSSH2_SFTP_ATTR_SIZE) != 0 ? UInt64(raw.filesize) : nil
        let hasMode = flags & UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS) != 0
        permissions = hasMode ? UInt32(truncatingIfNeeded: raw.permissions) & 0o7777 : nil
        let type = UInt(raw.permissions) & UInt(LIBSSH2_SFTP_S_IFMT)
        isDirectory = hasMode && type == UInt(LIBSSH2_SFTP_S_IFDIR)
        isRegularFile = hasMode && type == UInt(LIBSSH2_SFTP_S_IFREG)
        modificationTime = flags & UInt(LIBSSH2_SFTP_ATTR_ACMODTIME) != 0 ? UInt64(raw.mtime) : nil
    }
}
