import CLibSSH2

/// Owns one `LIBSSH2_AGENT`: a connection to an ssh-agent used to sign the authentication request.
///
/// The identities it lists point into the handle, so they are only used while this object is alive.
final class AgentClient {
    private let raw: OpaquePointer
    private let session: SSHSession
    private let socketPath: String
    private var isConnected = false

    /// Connects to the agent at `socketPath` and lists its identities.
    /// - Parameters:
    ///   - session: The session being authenticated; kept alive while this object exists.
    ///   - socketPath: The agent's Unix socket, as in `SSH_AUTH_SOCK`.
    /// - Throws: `SSHError` with `.authentication` if the agent cannot be reached or asked for keys.
    init(session: SSHSession, socketPath: String) throws(SSHError) {
        self.session = session
        self.socketPath = socketPath
        self.raw = try session.check(
            handle: libssh2_agent_init(session.raw),
            "libssh2_agent_init",
            .authentication,
            what: "ssh-agent at \(socketPath)",
            hint: ""
        )
        // libssh2 copies the path; without it, it would read SSH_AUTH_SOCK from the environment.
        socketPath.withCString { libssh2_agent_set_identity_path(raw, $0) }
        _ = try session.check(
            libssh2_agent_connect(raw),
            "libssh2_agent_connect",
            .authentication,
            what: "connecting to ssh-agent at \(socketPath)",
            hint: "check that the agent is running"
        )
        isConnected = true
    }

    deinit {
        if isConnected {
            _ = session.finish("libssh2_agent_disconnect", until: Deadline(seconds: 1)) {
                libssh2_agent_disconnect(raw)
            }
        }
        libssh2_agent_free(raw)
    }

    /// The public keys the agent holds.
    /// - Parameter deadline: When to give up.
    /// - Returns: Pointers owned by this object.
    /// - Throws: `SSHError` with `.authentication` if the agent does not answer.
    func identities(until deadline: Deadline) throws(SSHError) -> [UnsafeMutablePointer<libssh2_agent_publickey>] {
        try session.call(
            "libssh2_agent_list_identities",
            .authentication,
            what: "listing the keys of ssh-agent at \(socketPath)",
            hint: "check that the agent is running",
            until: deadline
        ) { libssh2_agent_list_identities(raw) }
        var identities: [UnsafeMutablePointer<libssh2_agent_publickey>] = []
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        while true {
            var next: UnsafeMutablePointer<libssh2_agent_publickey>?
            let result = libssh2_agent_get_identity(raw, &next, previous)
            // 1 means the end of the list, which check reports as a plain value.
            guard
                try session.check(
                    result,
                    "libssh2_agent_get_identity",
                    .authentication,
                    what: "reading the keys of ssh-agent",
                    hint: ""
                ) == 0, let next
            else { break }
            identities.append(next)
            previous = next
        }
        return identities
    }

    /// Authenticates `user` by having the agent sign with `identity`.
    /// - Parameters:
    ///   - user: The remote user.
    ///   - identity: One of `identities()`.
    ///   - deadline: When to give up.
    /// - Throws: `SSHError`; `.authentication` when the server does not accept the key.
    func authenticate(
        user: String,
        identity: UnsafeMutablePointer<libssh2_agent_publickey>,
        until deadline: Deadline
    ) throws(SSHError) {
        try session.call(
            "libssh2_agent_userauth",
            .authentication,
            what: "public key authentication through ssh-agent",
            hint: "",
            until: deadline
        ) { user.withCString { libssh2_agent_userauth(raw, $0, identity) } }
    }
}
