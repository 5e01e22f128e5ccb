import CLibSSH2

/// An authenticated SSH connection to one host.
///
/// Not `Sendable`: libssh2 sessions are not thread-safe, so a connection and its channels stay on the
/// thread (or task) that created them.
final class SSHConnection {
    /// The server's host key, verified before authentication.
    let hostKey: SSHHostKey
    /// The jump host's key when the connection goes through one, verified before anything was sent to it.
    let jumpHostKey: SSHHostKey?
    /// The libssh2 session; channel and SFTP wrappers are created on it.
    let session: SSHSession
    private let options: SSHConnectOptions
    /// The tunnel through the jump host; stopped after the session's disconnect went through it.
    private let tunnel: JumpTunnel?

    private init(session: SSHSession, hostKey: SSHHostKey, options: SSHConnectOptions, tunnel: JumpTunnel?,
                 jumpHostKey: SSHHostKey?) {
        self.session = session
        self.hostKey = hostKey
        self.options = options
        self.tunnel = tunnel
        self.jumpHostKey = jumpHostKey
    }

    deinit {
        disconnect()
    }

    /// Connects, verifies the host key, then authenticates; through `options.jump` first when it is set.
    ///
    /// Steps, all within `options.connectTimeout`: resolve (every IPv4 and IPv6 address is tried), TCP
    /// connect, SSH handshake, host key verification, then the credentials in order. No credential and no
    /// command is sent to a server whose host key did not verify. With a jump host these steps run for the
    /// jump host (its errors say "jump host HOST:PORT: …"), then a `direct-tcpip` channel to the target is
    /// opened on it and the same steps run for the target over that channel.
    /// - Parameter options: Where and how to connect.
    /// - Returns: The authenticated connection.
    /// - Throws: `SSHError`; its `code` tells which step failed and its message what to do about it.
    static func connect(_ options: SSHConnectOptions) throws(SSHError) -> SSHConnection {
        try options.validate()
        let deadline = Deadline(seconds: options.connectTimeout)
        guard let jump = options.jump else {
            try HostKeyVerifier.preflight(options.hostKeyPolicy, endpoint: options.endpoint)
            let socket = try Socket.connect(host: options.host, port: options.port, deadline: deadline)
            return try establish(options, over: socket, deadline: deadline)
        }
        // A target that could never be verified fails before the jump host is even contacted.
        try HostKeyVerifier.preflight(options.hostKeyPolicy, endpoint: options.endpoint)
        let bastion: SSHConnection
        do {
            try HostKeyVerifier.preflight(jump.hostKeyPolicy, endpoint: jump.endpoint)
            let socket = try Socket.connect(host: jump.host, port: jump.port, deadline: deadline)
            bastion = try establish(jump, over: socket, deadline: deadline)
        } catch {
            throw error.atJumpHost(jump.endpoint)
        }
        let jumpHostKey = bastion.hostKey
        let (tunnel, socket) = try JumpTunnel.open(
            through: bastion,
            to: options.host,
            port: options.port,
            deadline: deadline
        )
        do {
            return try establish(options, over: socket, deadline: deadline, tunnel: tunnel, jumpHostKey: jumpHostKey)
        } catch {
            tunnel.stop()
            throw error
        }
    }

    /// Handshake, host key verification and authentication over a connected socket.
    private static func establish(
        _ options: SSHConnectOptions,
        over socket: Socket,
        deadline: Deadline,
        tunnel: JumpTunnel? = nil,
        jumpHostKey: SSHHostKey? = nil
    ) throws(SSHError) -> SSHConnection {
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
        return SSHConnection(
            session: session,
            hostKey: hostKey,
            options: options,
            tunnel: tunnel,
            jumpHostKey: jumpHostKey
        )
    }

    /// Opens a session channel and execs `command`.
    /// - Parameter command: A fixed command line chosen by the caller; the server's forced command, if the key
    ///   has one, runs instead.
    /// - Returns: The running channel; it keeps this connection's session alive.
    /// - Throws: `SSHError` with `.channel`, `.io` or `.timeout`.
    func exec(_ command: String) throws(SSHError) -> SSHChannel {
        try SSHChannel(session: session, command: command, readTimeout: options.readTimeout)
    }

    /// Starts SFTP on this connection.
    ///
    /// Costs one extra round trip: a probe command first makes sure the key is not restricted to a forced
    /// command, which would otherwise swallow the SFTP subsystem and never answer.
    /// - Returns: The client; it keeps this connection's session alive.
    /// - Throws: `SSHError` `.forcedCommand` when the key may only run a forced command, `.sftp` when the server
    ///   has no SFTP subsystem, `.channel`, `.timeout` or `.io`.
    func sftp() throws(SSHError) -> SFTPClient {
        try SFTPClient(session: session, readTimeout: options.readTimeout)
    }

    /// Sends SSH_MSG_DISCONNECT, then stops the tunnel through the jump host if there is one. Idempotent; also
    /// done on deinit. The session and socket are freed once the last channel is gone; channels fail with
    /// `.channel` afterwards.
    func disconnect() {
        session.disconnect()
        if let tunnel {
            // The disconnect message is in the socket pair; end it there so the pump forwards it and stops.
            session.socket.shutdownWrite()
            tunnel.stop()
        }
    }
}
