import CLibSSH2

/// Owns one open `LIBSSH2_SFTP_HANDLE` and keeps its `SFTPClient` alive. Closed by `close()`, or quietly
/// on deinit when an operation failed half-way.
final class SFTPFile {
    /// The remote path, for messages.
    let path: String
    private let raw: OpaquePointer
    private let client: SFTPClient
    private var isClosed = false

    /// Opens `path`.
    /// - Parameters:
    ///   - client: The SFTP client.
    ///   - path: The remote path.
    ///   - flags: `LIBSSH2_FXF_*` flags.
    ///   - mode: The mode for a file this creates (the server's umask applies).
    /// - Throws: `SSHError` `.sftp` (no such directory, permission denied, exists with EXCL), `.timeout`, `.io`.
    init(client: SFTPClient, path: String, flags: Int32, mode: UInt32) throws(SSHError) {
        self.client = client
        self.path = path
        raw = try client.callReturningHandle("libssh2_sftp_open_ex", what: "opening \(path)") {
            path.withCString {
                libssh2_sftp_open_ex(
                    client.raw,
                    $0,
                    UInt32(path.utf8.count),
                    UInt(flags),
                    Int(mode),
                    LIBSSH2_SFTP_OPENFILE
                )
            }
        }
    }

    deinit {
        if !isClosed {
            _ = client.session.finish("libssh2_sftp_close_handle", until: Deadline(seconds: 2)) {
                libssh2_sftp_close_handle(raw)
            }
        }
    }

    /// Writes all of `bytes` at the current offset.
    ///
    /// libssh2 pipelines the writes (several 30 kB requests in flight) and returns what the server has
    /// acknowledged; the rest of the buffer must be passed again unchanged, which this does.
    /// - Parameters:
    ///   - bytes: The data.
    ///   - acknowledged: Called with the number of bytes newly acknowledged, for progress.
    /// - Throws: `SSHError` `.sftp` (disk full, quota), `.timeout` when nothing is acknowledged for the read
    ///   timeout, `.io`.
    func write(_ bytes: ArraySlice<UInt8>, acknowledged: (Int) -> Void) throws(SSHError) {
        var offset = 0
        var stall = Deadline(seconds: client.readTimeout)
        while offset < bytes.count {
            let written = try client.call(
                "libssh2_sftp_write",
                what: "writing \(path)",
                hint: "check free space and quota on the host"
            ) {
                bytes.withUnsafeBytes { buffer in
                    libssh2_sftp_write(
                        raw,
                        buffer.baseAddress!.assumingMemoryBound(to: CChar.self) + offset,
                        buffer.count - offset
                    )
                }
            }
            if written > 0 {
                offset += written
                acknowledged(written)
                stall = Deadline(seconds: client.readTimeout)
            } else if !client.session.waitForSocket(until: stall) {
                // 0 means nothing was acknowledged yet without an EAGAIN; wait rather than spin.
                throw SSHError(.timeout, "writing \(path) made no progress for \(Deadline.describe(stall.budget)); "
                    + "the host or the connection appears dead")
            }
        }
    }

    /// Reads up to `maximum` bytes at the current offset.
    /// - Returns: The bytes read; empty at the end of the file.
    /// - Throws: `SSHError` `.sftp`, `.timeout` or `.io`.
    func read(maximum: Int) throws(SSHError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        let count = try client.call("libssh2_sftp_read", what: "reading \(path)") {
            buffer.withUnsafeMutableBytes { bytes in
                libssh2_sftp_read(raw, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
            }
        }
        return Array(buffer[0..<count])
    }

    /// Sets the permission bits exactly (the mode given to `open` is reduced by the server's umask).
    /// - Throws: `SSHError` `.sftp`.
    func setPermissions(_ mode: UInt32) throws(SSHError) {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        attributes.flags = UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
        attributes.permissions = UInt(mode & 0o7777)
        try client.call("libssh2_sftp_fstat_ex", what: "setting the mode of \(path)") {
            libssh2_sftp_fstat_ex(raw, &attributes, 1)
        }
    }

    /// Asks the server to fsync the file (OpenSSH's `fsync@openssh.com`), so a rename that follows cannot
    /// leave an empty or partial file after a crash of the host.
    /// - Returns: false when the server does not offer fsync; the data is then only as durable as the
    ///   server's page cache.
    /// - Throws: `SSHError` `.sftp` when the fsync itself failed (an I/O error on the host's disk).
    @discardableResult
    func sync() throws(SSHError) -> Bool {
        do {
            try client.call("libssh2_sftp_fsync", what: "syncing \(path) to disk") { libssh2_sftp_fsync(raw) }
            return true
        } catch {
            if error.libssh2Code == LIBSSH2_ERROR_SFTP_PROTOCOL && client.lastStatus == LIBSSH2_FX_OP_UNSUPPORTED {
                return false
            }
            throw error
        }
    }

    /// Closes the handle; the server reports write errors it deferred here.
    /// - Throws: `SSHError` `.sftp`, `.timeout` or `.io`.
    func close() throws(SSHError) {
        guard !isClosed else { return }
        // libssh2 frees the handle once the close completes, whatever the server answered.
        isClosed = true
        try client.call("libssh2_sftp_close_handle", what: "closing \(path)") { libssh2_sftp_close_handle(raw) }
    }
}
