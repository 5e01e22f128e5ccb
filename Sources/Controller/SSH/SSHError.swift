/// A failure of the SSH client, with enough context to act on it.
///
/// `message` is written for the person running shipkeep: one line that says what failed and what to do
/// next. The libssh2 return code and C function name are kept separately for logs and bug reports.
struct SSHError: Error, CustomStringConvertible {
    /// What kind of step failed.
    enum Code: Sendable, Hashable {
        /// The host name could not be resolved to an address.
        case resolve
        /// The TCP connection was refused or the network is unreachable.
        case connect
        /// A deadline passed: TCP connect, handshake, authentication, or no data from the peer.
        case timeout
        /// The SSH handshake (banner, key exchange) failed.
        case handshake
        /// The host is not listed in any of the known_hosts files.
        case hostKeyUnknown
        /// The host is listed with a different key, the key is revoked, or a pinned fingerprint differs.
        case hostKeyMismatch
        /// The host key could not be checked at all (missing known_hosts file, bad pin, no key).
        case hostKeyUnverifiable
        /// Every credential was tried and none was accepted.
        case authentication
        /// Opening the session channel, exec, or closing the channel failed.
        case channel
        /// The connection broke while transferring data.
        case io
        /// A jump host refused or failed to open the tunnel to the target (`direct-tcpip`).
        case forwarding
        /// An SFTP request failed on the server: no such file, permission denied, file exists, disk full.
        case sftp
        /// The key may only run a forced command, so the SFTP subsystem (or any other command) is unavailable.
        case forcedCommand
    }

    /// What kind of step failed.
    let code: Code
    /// One human line: what failed and what to do next. Never contains key material or passphrases.
    let message: String
    /// The libssh2 return code, when the failure came from libssh2.
    let libssh2Code: Int32?
    /// The C function that failed, e.g. `libssh2_session_handshake`.
    let function: String?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: One actionable line for the user.
    ///   - libssh2Code: The libssh2 return code, if any.
    ///   - function: The C function that failed, if any.
    init(_ code: Code, _ message: String, libssh2Code: Int32? = nil, function: String? = nil) {
        self.code = code
        self.message = message
        self.libssh2Code = libssh2Code
        self.function = function
    }

    /// The message, followed by the failing C call and its return code when there is one.
    var description: String {
        guard let function else { return message }
        if let libssh2Code {
            return "\(message) [\(function) returned \(libssh2Code)]"
        }
        return "\(message) [\(function)]"
    }
}

extension SSHError {
    /// The same failure, its message prefixed with the jump host it happened at, so that a host key or
    /// login problem at the bastion is never mistaken for one at the target.
    /// - Parameter endpoint: The jump host's `host:port`.
    func atJumpHost(_ endpoint: String) -> SSHError {
        SSHError(code, "jump host \(endpoint): \(message)", libssh2Code: libssh2Code, function: function)
    }
}
