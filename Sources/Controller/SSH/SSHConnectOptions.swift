/// Where and how to connect; unset values take the defaults.
struct SSHConnectOptions {
    /// A host name, or an IPv4 or IPv6 literal (`"::1"`).
    var host: String
    /// The TCP port of sshd.
    var port: Int = 22
    /// The remote user to authenticate as.
    var user: String
    /// How the server's host key is verified before anything else is sent.
    var hostKeyPolicy: HostKeyPolicy
    /// The credentials to try, in order.
    var credentials: [SSHCredential]
    /// Seconds for TCP connect, handshake, host key verification and authentication together.
    var connectTimeout: Double = 10
    /// Seconds without any channel data after which the peer is considered dead.
    var readTimeout: Double = 30
    /// Seconds between keepalives while waiting for data; 0 disables them.
    var keepaliveInterval: Int = 10
    /// A jump host (bastion) to reach `host` through, with its own host, port, user, host key policy and
    /// credentials; its timeouts are ignored, the whole route shares `connectTimeout`. Only one hop: the
    /// jump host's own `jump` must be nil.
    var jump: SSHConnectOptions? {
        get { jumpStorage.first }
        set { jumpStorage = newValue.map { [$0] } ?? [] }
    }
    /// An array because a struct cannot contain itself directly; it holds zero or one element.
    private var jumpStorage: [SSHConnectOptions] = []

    /// Creates options; the parameters are the properties of the same names.
    init(
        host: String,
        port: Int = 22,
        user: String,
        hostKeyPolicy: HostKeyPolicy,
        credentials: [SSHCredential],
        connectTimeout: Double = 10,
        readTimeout: Double = 30,
        keepaliveInterval: Int = 10,
        jump: SSHConnectOptions? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.hostKeyPolicy = hostKeyPolicy
        self.credentials = credentials
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.keepaliveInterval = keepaliveInterval
        self.jump = jump
    }

    /// `host:port` for messages, IPv6 literals in brackets.
    var endpoint: String { Socket.endpoint(host: host, port: port) }

    /// Rejects values that would make a later step fail in a confusing way.
    /// - Throws: `SSHError` with `.connect` naming the bad value.
    func validate() throws(SSHError) {
        guard !host.isEmpty, !host.utf8.contains(0) else {
            throw SSHError(.connect, "the host name is empty or invalid; pass the host to connect to")
        }
        guard (1...65_535).contains(port) else {
            throw SSHError(.connect, "port \(port) is out of range; use a TCP port between 1 and 65535")
        }
        guard !user.isEmpty, !user.utf8.contains(0) else {
            throw SSHError(.connect, "the user name is empty or invalid; pass the remote user")
        }
        guard connectTimeout > 0, readTimeout > 0, keepaliveInterval >= 0 else {
            throw SSHError(.connect, "timeouts must be positive; check the connect and read timeout settings")
        }
        if let jump {
            guard jump.jump == nil else {
                throw SSHError(.connect, "only one jump host is supported; reach \(jump.endpoint) directly")
            }
            do {
                try jump.validate()
            } catch {
                throw error.atJumpHost(jump.endpoint)
            }
        }
    }
}
