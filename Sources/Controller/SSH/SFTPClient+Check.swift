import CLibSSH2

/// Running SFTP calls: the session's `call` with the SFTP status of a failure put into words.
extension SFTPClient {
    /// Runs a libssh2 SFTP call to completion, waiting on the socket while it would block.
    /// - Parameters:
    ///   - function: The C function's name.
    ///   - what: The step, for messages: "creating the directory /opt/shipkeep".
    ///   - hint: What the user should do next, if there is a general answer.
    ///   - deadline: When to give up; by default `readTimeout` from now.
    ///   - operation: The call; repeated after EAGAIN, as libssh2 calls must be.
    /// - Returns: The non-negative result.
    /// - Throws: `SSHError` `.sftp` with the SFTP status when the server refused, else as `SSHSession.call`.
    @discardableResult
    func call<Result: BinaryInteger>(
        _ function: String,
        what: String,
        hint: String = "",
        until deadline: Deadline? = nil,
        _ operation: () -> Result
    ) throws(SSHError) -> Int {
        try ensureUsable()
        do {
            return try session.call(
                function,
                .sftp,
                what: what,
                hint: hint,
                until: deadline ?? Deadline(seconds: readTimeout),
                operation
            )
        } catch {
            throw translated(error, what: what, hint: hint)
        }
    }

    /// Like `call`, for the SFTP functions that return a handle.
    /// - Returns: The non-NULL handle.
    /// - Throws: `SSHError` as `call` does.
    func callReturningHandle(
        _ function: String,
        what: String,
        hint: String = "",
        _ operation: () -> OpaquePointer?
    ) throws(SSHError) -> OpaquePointer {
        try ensureUsable()
        do {
            return try session.callReturningHandle(
                function,
                .sftp,
                what: what,
                hint: hint,
                until: Deadline(seconds: readTimeout),
                operation
            )
        } catch {
            throw translated(error, what: what, hint: hint)
        }
    }

    /// The SFTP status (`LIBSSH2_FX_*`) of the last request the server refused.
    var lastStatus: UInt { libssh2_sftp_last_error(raw) }

    /// Whether `error` is the server saying that the path does not exist.
    func isMissing(_ error: SSHError) -> Bool {
        error.libssh2Code == LIBSSH2_ERROR_SFTP_PROTOCOL
            && (lastStatus == LIBSSH2_FX_NO_SUCH_FILE || lastStatus == LIBSSH2_FX_NO_SUCH_PATH)
    }

    /// An SFTP status in words, for messages.
    static func describe<Status: BinaryInteger>(_ status: Status) -> String {
        switch UInt(status) {
        case LIBSSH2_FX_EOF: return "end of file"
        case LIBSSH2_FX_NO_SUCH_FILE, LIBSSH2_FX_NO_SUCH_PATH: return "no such file or directory"
        case LIBSSH2_FX_PERMISSION_DENIED: return "permission denied"
        case LIBSSH2_FX_FAILURE: return "the server reported a failure"
        case LIBSSH2_FX_BAD_MESSAGE: return "the server rejected the request as malformed"
        case LIBSSH2_FX_OP_UNSUPPORTED: return "the server does not support this operation"
        case LIBSSH2_FX_FILE_ALREADY_EXISTS: return "the file already exists"
        case LIBSSH2_FX_WRITE_PROTECT: return "the file system is read-only"
        case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: return "no space left on the file system"
        case LIBSSH2_FX_QUOTA_EXCEEDED: return "disk quota exceeded"
        case LIBSSH2_FX_DIR_NOT_EMPTY: return "the directory is not empty"
        case LIBSSH2_FX_NOT_A_DIRECTORY: return "a path component is not a directory"
        case LIBSSH2_FX_INVALID_FILENAME: return "invalid file name"
        case LIBSSH2_FX_LINK_LOOP: return "too many levels of symbolic links"
        default: return "SFTP status \(status)"
        }
    }

    private func translated(_ error: SSHError, what: String, hint: String) -> SSHError {
        guard error.libssh2Code == LIBSSH2_ERROR_SFTP_PROTOCOL else { return error }
        let status = lastStatus
        var advice = hint
        if advice.isEmpty {
            switch status {
            case LIBSSH2_FX_NO_SUCH_FILE, LIBSSH2_FX_NO_SUCH_PATH:
                advice = "check the path; create missing directories first"
            case LIBSSH2_FX_PERMISSION_DENIED:
                advice = "log in as a user who may write there"
            default:
                break
            }
        }
        return SSHError(
            .sftp,
            "\(what) failed: \(Self.describe(status))" + (advice.isEmpty ? "" : "; \(advice)"),
            libssh2Code: error.libssh2Code,
            function: error.function
        )
    }

    private func ensureUsable() throws(SSHError) {
        guard !session.isDisconnected else {
            throw SSHError(.channel, "the connection to \(session.endpoint) was closed by disconnect(); connect again")
        }
    }
}
