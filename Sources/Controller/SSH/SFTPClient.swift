import CLibSSH2

/// SFTP on an authenticated connection, for `shipkeep install`: atomic uploads, `stat`, `mkdir -p`, the home
/// directory and small reads. Obtained with `SSHConnection.sftp()`.
///
/// Non-blocking like the rest of the client: every call is repeated on EAGAIN while waiting on the socket,
/// bounded by the read timeout (renewed whenever a transfer makes progress). Failures the server reports are
/// `SSHError` `.sftp`, with the SFTP status in words. Relative paths are relative to the login directory.
/// Not `Sendable`: it drives a libssh2 session, which is not thread-safe.
final class SFTPClient {
    /// The `LIBSSH2_SFTP` handle; files opened on it keep this object alive.
    let raw: OpaquePointer
    /// The session it runs on, kept alive by this object.
    let session: SSHSession
    /// Seconds without progress before an operation fails with `.timeout`.
    let readTimeout: Double
    /// The hand-spoken channel for OpenSSH's atomic replacing rename, opened on first use.
    private var posixRename: SFTPPosixRename?

    /// What the probe command prints when the key runs commands of our choosing.
    private static let probeMarker = "shipkeep-sftp-probe"

    /// Checks that the key is not restricted to a forced command, then starts the SFTP subsystem.
    ///
    /// With a `command=` key, sshd runs the forced command for the sftp subsystem too, and the forced command
    /// (the agent) would wait for a request line forever. So first `echo` runs on an exec channel: a forced
    /// command does not print the marker, and the failure is immediate and says why.
    /// - Parameters:
    ///   - session: The authenticated session.
    ///   - readTimeout: Seconds without progress before an operation fails.
    /// - Throws: `SSHError` `.forcedCommand` for a restricted key, `.sftp` when the server has no SFTP
    ///   subsystem, `.timeout`, `.channel` or `.io`.
    init(session: SSHSession, readTimeout: Double) throws(SSHError) {
        guard !session.isDisconnected else {
            throw SSHError(.channel, "the connection to \(session.endpoint) was already closed; connect again")
        }
        try Self.refuseForcedCommand(session: session, readTimeout: readTimeout)
        raw = try session.callReturningHandle(
            "libssh2_sftp_init",
            .sftp,
            what: "starting SFTP on \(session.endpoint)",
            hint: "check that its sshd_config has a Subsystem sftp line",
            until: Deadline(seconds: readTimeout)
        ) { libssh2_sftp_init(session.raw) }
        self.session = session
        self.readTimeout = readTimeout
    }

    deinit {
        posixRename = nil
        _ = session.finish("libssh2_sftp_shutdown", until: Deadline(seconds: 2)) { libssh2_sftp_shutdown(raw) }
    }

    // MARK: - Paths

    /// The attributes of `path`, following symlinks.
    /// - Returns: nil when nothing exists at `path`.
    /// - Throws: `SSHError` `.sftp` (e.g. permission denied), `.timeout` or `.io`.
    func stat(_ path: String) throws(SSHError) -> SFTPAttributes? {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        do {
            try call("libssh2_sftp_stat_ex", what: "reading the attributes of \(path)") {
                path.withCString {
                    libssh2_sftp_stat_ex(raw, $0, UInt32(path.utf8.count), LIBSSH2_SFTP_STAT, &attributes)
                }
            }
        } catch {
            if isMissing(error) { return nil }
            throw error
        }
        return SFTPAttributes(attributes)
    }

    /// Creates `path` and any missing parents, like `mkdir -p`; directories it creates get `mode` exactly
    /// (not reduced by the server's umask). Existing directories are left as they are.
    /// - Throws: `SSHError` `.sftp` when a component exists and is not a directory, or cannot be created.
    func makeDirectories(_ path: String, mode: UInt32 = 0o755) throws(SSHError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") where component != "." {
            prefix += "/" + component
            let current = prefix.hasPrefix("./") ? String(prefix.dropFirst(2)) : prefix
            if let existing = try stat(current) {
                guard existing.isDirectory else {
                    throw SSHError(.sftp, "cannot create the directory \(path): \(current) exists and is not a "
                        + "directory; move it out of the way")
                }
                continue
            }
            do {
                try call("libssh2_sftp_mkdir_ex", what: "creating the directory \(current)") {
                    current.withCString { libssh2_sftp_mkdir_ex(raw, $0, UInt32(current.utf8.count), Int(mode)) }
                }
            } catch {
                // Someone else may have created it meanwhile; that is as good.
                if try stat(current)?.isDirectory == true { continue }
                throw error
            }
            try setPermissions(current, mode)
        }
    }

    /// The canonical absolute form of `path` on the server. `"~"`, `"."` and `""` give the login (home)
    /// directory; `"~/x"` is taken relative to it, as OpenSSH's sftp-server starts there.
    /// - Throws: `SSHError` `.sftp` when the path does not exist.
    func realpath(_ path: String) throws(SSHError) -> String {
        var query = path
        if query == "~" || query.isEmpty {
            query = "."
        } else if query.hasPrefix("~/") {
            query = String(query.dropFirst(2))
        }
        var buffer = [CChar](repeating: 0, count: 4097)
        let capacity = UInt32(buffer.count - 1)
        let length = try call("libssh2_sftp_symlink_ex", what: "resolving \(path) on \(session.endpoint)") {
            query.withCString { shipkeep_sftp_realpath(raw, $0, UInt32(query.utf8.count), &buffer, capacity) }
        }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes a file.
    /// - Throws: `SSHError` `.sftp` when it does not exist or cannot be removed.
    func remove(_ path: String) throws(SSHError) {
        try call("libssh2_sftp_unlink_ex", what: "removing \(path)") {
            path.withCString { libssh2_sftp_unlink_ex(raw, $0, UInt32(path.utf8.count)) }
        }
    }

    /// Sets the permission bits of `path`.
    /// - Throws: `SSHError` `.sftp`.
    func setPermissions(_ path: String, _ mode: UInt32) throws(SSHError) {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        attributes.flags = UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
        attributes.permissions = UInt(mode & 0o7777)
        try call("libssh2_sftp_stat_ex", what: "setting the mode of \(path)") {
            path.withCString {
                libssh2_sftp_stat_ex(raw, $0, UInt32(path.utf8.count), LIBSSH2_SFTP_SETSTAT, &attributes)
            }
        }
    }

    /// Renames `source` to `destination`, atomically replacing it if it exists when `replacing`, and never
    /// touching an existing destination otherwise.
    ///
    /// Replacing uses OpenSSH's `posix-rename@openssh.com` (rename(2)): libssh2 1.10 sends its OVERWRITE and
    /// ATOMIC flags only to servers speaking SFTP version 5 or later, and OpenSSH speaks version 3, whose
    /// RENAME refuses an existing destination. Servers without the extension get libssh2's rename with those
    /// flags. Without `replacing`, the version 3 RENAME is what is wanted: OpenSSH does it with link(2), which
    /// fails rather than replace.
    /// - Throws: `SSHError` `.sftp` (for an existing destination without `replacing`: the status is in
    ///   `lastStatus`), `.timeout` or `.io`.
    func rename(_ source: String, to destination: String, replacing: Bool) throws(SSHError) {
        let what = "renaming \(source) to \(destination)"
        if replacing {
            if posixRename == nil {
                posixRename = try SFTPPosixRename(session: session, readTimeout: readTimeout)
            }
            if let posixRename, posixRename.isSupported {
                let (status, message) = try posixRename.rename(source, to: destination)
                guard status == LIBSSH2_FX_OK else {
                    let said = message.isEmpty ? "" : " (\(message))"
                    throw SSHError(.sftp, "\(what) failed: \(Self.describe(status))\(said)")
                }
                return
            }
        }
        let flags = replacing
            ? LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE : 0
        try call("libssh2_sftp_rename_ex", what: what) {
            source.withCString { from in
                destination.withCString { to in
                    libssh2_sftp_rename_ex(
                        raw,
                        from,
                        UInt32(source.utf8.count),
                        to,
                        UInt32(destination.utf8.count),
                        Int(flags)
                    )
                }
            }
        }
    }

    // MARK: - Forced commands

    private static func refuseForcedCommand(session: SSHSession, readTimeout: Double) throws(SSHError) {
        // echo answers within a round trip; a forced command that ignores its input would make us wait the
        // whole read timeout, so the probe gets at most 10 s.
        let patience = min(readTimeout, 10)
        let channel = try SSHChannel(session: session, command: "echo \(probeMarker)", readTimeout: patience)
        // A forced command may already have exited; its output decides, not whether it still takes input.
        try? channel.sendEOF()
        var output: [UInt8] = []
        var finished = false
        var silent = false
        while !finished && !silent {
            do {
                for event in try channel.read(timeout: patience) {
                    switch event {
                    case .stdout(let bytes): output += bytes.prefix(max(0, 256 - output.count))
                    case .stderr: break
                    case .eof: finished = true
                    }
                }
            } catch {
                guard error.code == .timeout else { throw error }
                silent = true
            }
        }
        if finished {
            _ = try? channel.waitExit()
        }
        guard output == Array((probeMarker + "\n").utf8) else {
            let how = silent ? " (a probe command got no answer within \(Deadline.describe(patience)))" : ""
            throw SSHError(
                .forcedCommand,
                "this key is restricted to a forced command on \(session.endpoint)\(how), so it cannot use SFTP; "
                    + "install needs an unrestricted login key (the restricted deploy key only runs the agent)"
            )
        }
    }
}
