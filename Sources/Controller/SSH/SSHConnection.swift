import CLibSSH2

/// An authenticated SSH connection to one host.
///
/// Not `Sendable`: libssh2 sessions are not thread-safe, so a connection and its channels stay on the
/// thread (or task) that created them.
final class SSHConnection {
    /// The server's host key, verified before authentication.
    let hostKey: SSHHostKey
    private let session: SSHSession
    private let options: SSHConnectOptions

    private init(session: SSHSession, hostKey: SSHHostKey, options: SSHConnectOptions) {
        self.session = session
        self.hostKey = hostKey
        self.options = options
    }

    deinit {
        disconnect()
    }

    /// Connects, verifies the host key, then authenticates.
    ///
    /// Steps, all within `options.connectTimeout`: resolve (every IPv4 and IPv6 address is tried), TCP
    /// connect, SSH handshake, host key verification, then the credentials in order. No credential and no
    /// command is sent to a server whose host key did not verify.
    /// - Parameter options: Where and how to connect.
    /// - Returns: The authenticated connection.
    /// - Throws: `SSHError`; its `code` tells which step failed and its message what to do about it.
    static func connect(_ options: SSHConnectOptions) throws(SSHError) -> SSHConnection {
        try options.validate()
        try HostKeyVerifier.preflight(options.hostKeyPolicy, endpoint: options.endpoint)
        let deadline = Deadline(seconds: options.connectTimeout)
        let socket = try Socket.connect(host: options.host, port: options.port, deadline: deadline)
        let session = try SSHSession(socket: socket, endpoint: options.endpoint)
        session.configureKeepalive(interval: options.keepaliveInterval)

        let verifier = try HostKeyVerifier(
            policy: options.hostKeyPolicy,
            host: options.host,
            port: options.port,
            session: session
        )
        let algorithms = verifier.algorithmPreference
        _ = try session.check(
            algorithms.withCString { libssh2_session_method_pref(session.raw, LIBSSH2_METHOD_HOSTKEY, $0) },
            "libssh2_session_method_pref",
            .handshake,
            what: "choosing host key algorithms (\(algorithms))",
            hint: ""
        )
        try session.call(
            "libssh2_session_handshake",
            .handshake,
            what: "SSH handshake with \(options.endpoint)",
            hint: "check that this host and port run an SSH server",
            until: deadline
        ) { libssh2_session_handshake(session.raw, socket.descriptor) }

        let hostKey: SSHHostKey
        do {
            hostKey = try verifier.verify()
        } catch {
            session.disconnect(reason: SSH_DISCONNECT_HOST_KEY_NOT_VERIFIABLE, description: "host key not trusted")
            throw error
        }
        try SSHAuthenticator(session: session, user: options.user, deadline: deadline)
            .authenticate(with: options.credentials)
        return SSHConnection(session: session, hostKey: hostKey, options: options)
    }

    /// Opens a session channel and execs `command`.
    /// - Parameter command: A fixed command line chosen by the caller; the server's forced command, if the key
    ///   has one, runs instead.
    /// - Returns: The running channel; it keeps this connection's session alive.
    /// - Throws: `SSHError` with `.channel`, `.io` or `.timeout`.
    func exec(_ command: String) throws(SSHError) -> SSHChannel {
        try SSHChannel(session: session, command: command, readTimeout: options.readTimeout)
    }

    /// Sends SSH_MSG_DISCONNECT. Idempotent; also done on deinit. The session and socket are freed once
    /// the last channel is gone; channels fail with `.channel` afterwards.
    func disconnect() {
        session.disconnect()
    }
}
