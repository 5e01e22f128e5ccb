import CLibSSH2
import Platform

/// Owns one `LIBSSH2_SESSION` and the socket under it.
///
/// The session runs in non-blocking mode: every libssh2 call that would block returns
/// `LIBSSH2_ERROR_EAGAIN`, and this class waits with `poll(2)` in the directions libssh2 asks for, always
/// against a deadline. Not `Sendable`: a libssh2 session must only be used from one thread at a time.
final class SSHSession {
    /// `libssh2_init` is global and not thread-safe; a `static let` runs it exactly once, on first use.
    private static let libraryStatus: Int32 = libssh2_init(0)

    /// The C handle, valid for the lifetime of this object. Channel, agent and known-hosts wrappers borrow it
    /// and keep a strong reference to this object so it cannot be freed under them.
    let raw: OpaquePointer
    /// The TCP connection, closed after the session is freed.
    let socket: Socket
    /// `host:port` for messages.
    let endpoint: String
    /// Whether `disconnect` ran; channels refuse further work afterwards.
    private(set) var isDisconnected = false
    private var keepaliveEnabled = false
    private let serverDisconnect = ServerDisconnect()

    /// Whether this libssh2 can make and check rsa-sha2 signatures (1.11 and later). Without them, servers
    /// running OpenSSH 8.8 or later accept no RSA key from it, neither host key nor user key.
    private(set) lazy var supportsRSASHA2: Bool = {
        var algorithms: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        let count = libssh2_session_supported_algs(raw, LIBSSH2_METHOD_HOSTKEY, &algorithms)
        defer { algorithms.map { libssh2_free(raw, $0) } }
        guard let listed = try? check(count, "libssh2_session_supported_algs", .handshake, what: "", hint: ""),
            let algorithms
        else { return false }
        return (0..<listed).contains { algorithms[$0].map { String(cString: $0) } == "rsa-sha2-256" }
    }()

    /// What the server said when it sent SSH_MSG_DISCONNECT ("Too many authentication failures"), if it did.
    var serverDisconnectMessage: String? { serverDisconnect.message }

    /// Creates a non-blocking session over a connected socket. The handshake is a separate step.
    /// - Parameters:
    ///   - socket: The connected socket; the session takes ownership.
    ///   - endpoint: `host:port`, used in messages.
    /// - Throws: `SSHError` with `.handshake` if libssh2 cannot be initialised or the session allocated.
    init(socket: Socket, endpoint: String) throws(SSHError) {
        guard Self.libraryStatus == 0 else {
            throw SSHError(
                .handshake,
                "libssh2 could not initialise its crypto backend; reinstall libssh2 and OpenSSL",
                libssh2Code: Self.libraryStatus,
                function: "libssh2_init"
            )
        }
        guard let raw = shipkeep_session_init() else {
            throw SSHError(
                .handshake,
                "cannot allocate an SSH session (out of memory?)",
                function: "libssh2_session_init_ex"
            )
        }
        self.raw = raw
        self.socket = socket
        self.endpoint = endpoint
        // libssh2's blocking mode waits inside the library with no deadline of ours; never use it.
        libssh2_session_set_blocking(raw, 0)
        // libssh2 only reports a server's disconnect as a socket error; its reason is what users need to see.
        libssh2_session_abstract(raw).pointee = Unmanaged.passUnretained(serverDisconnect).toOpaque()
        let onDisconnect: ServerDisconnect.Callback = { _, _, message, length, _, _, abstract in
            guard let context = abstract?.pointee, let message, length > 0 else { return }
            let text = UnsafeRawBufferPointer(start: message, count: Int(length))
            Unmanaged<ServerDisconnect>.fromOpaque(context).takeUnretainedValue().message =
                String(decoding: text, as: UTF8.self)
        }
        _ = libssh2_session_callback_set(
            raw,
            LIBSSH2_CALLBACK_DISCONNECT,
            unsafeBitCast(onDisconnect, to: UnsafeMutableRawPointer.self)
        )
    }

    deinit {
        disconnect()
        // libssh2_session_free may need the socket to close channels that are still open, and returns EAGAIN
        // until it could; any other result means everything was freed. If the peer stopped answering, cut the
        // socket so those sends fail at once and the free completes instead of hanging.
        if finish("libssh2_session_free", until: Deadline(seconds: 2), { libssh2_session_free(raw) }) == .timedOut {
            socket.shutdownBothDirections()
            _ = finish("libssh2_session_free", until: Deadline(seconds: 1)) { libssh2_session_free(raw) }
        }
        socket.close()
    }

    // MARK: - Waiting

    /// Waits until the socket is ready in the directions libssh2 reported with its last EAGAIN.
    /// - Returns: `false`, without waiting, once the deadline has passed.
    func waitForSocket(until deadline: Deadline) -> Bool {
        guard !deadline.hasPassed else { return false }
        let directions = libssh2_session_block_directions(raw)
        var events: Int16 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 {
            events |= Int16(POLLIN)
        }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 {
            events |= Int16(POLLOUT)
        }
        if events == 0 {
            // EAGAIN without a direction: look again shortly rather than risk sleeping through work.
            socket.wait(for: Int16(POLLIN), until: deadline.earliest(Deadline(seconds: 0.05)))
        } else {
            socket.wait(for: events, until: deadline)
        }
        return true
    }

    /// Whether libssh2 holds a partly sent packet. Until the call that queued it is repeated and completes,
    /// any other call that sends fails with `LIBSSH2_ERROR_BAD_USE`.
    var isSendPending: Bool {
        libssh2_session_block_directions(raw) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
    }

    // MARK: - Keepalive

    /// Enables keepalives: libssh2 only tracks when one is due; `sendKeepaliveIfDue` sends it.
    /// - Parameter interval: Seconds between keepalives; 0 disables them.
    func configureKeepalive(interval: Int) {
        guard interval > 0 else { return }
        keepaliveEnabled = true
        libssh2_keepalive_config(raw, 1, UInt32(clamping: interval))
    }

    /// Sends a keepalive if one is due, so a peer that vanished is noticed through a socket error.
    /// - Returns: Seconds until the next one is due; `nil` when keepalives are disabled.
    /// - Throws: `SSHError` with `.io` when the socket is broken.
    func sendKeepaliveIfDue() throws(SSHError) -> Double? {
        guard keepaliveEnabled else { return nil }
        guard !isSendPending else { return 1 }
        var next: Int32 = 0
        _ = try check(
            libssh2_keepalive_send(raw, &next),
            "libssh2_keepalive_send",
            .io,
            what: "sending a keepalive to \(endpoint)",
            hint: "the connection is broken; retry"
        )
        return Double(max(next, 1))
    }

    // MARK: - Disconnect

    /// Sends SSH_MSG_DISCONNECT, bounded so a peer that stopped reading cannot delay exit. Idempotent; the
    /// session itself is freed when the last channel using it is gone.
    /// - Parameters:
    ///   - reason: An `SSH_DISCONNECT_*` code.
    ///   - description: Shown in the server's log.
    func disconnect(reason: Int32 = SSH_DISCONNECT_BY_APPLICATION, description: String = "shipkeep is done") {
        guard !isDisconnected else { return }
        isDisconnected = true
        _ = finish("libssh2_session_disconnect_ex", until: Deadline(seconds: 2)) {
            description.withCString { shipkeep_session_disconnect(raw, reason, $0) }
        }
    }
}

/// Where the disconnect callback leaves the server's message. A class so libssh2 can hold a pointer to it;
/// it is only touched from inside libssh2 calls on the session's own thread.
private final class ServerDisconnect {
    /// libssh2's `LIBSSH2_DISCONNECT_FUNC` prototype.
    typealias Callback =
        @convention(c) (
            OpaquePointer?, Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, Int32,
            UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        ) -> Void

    /// The server's message, once it disconnected.
    var message: String?
}
