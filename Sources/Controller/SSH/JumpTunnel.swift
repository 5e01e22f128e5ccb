import CLibSSH2
import Platform

/// A `direct-tcpip` channel through a jump host to the target's SSH port, offered as a local socket so a
/// second libssh2 session can run over it, as OpenSSH's ProxyJump does with `ssh -W`.
///
/// libssh2 only runs a session over a socket descriptor, so the channel is joined to one end of an AF_UNIX
/// socket pair by a pump thread; the target's session gets the other end. The pump thread owns the jump
/// host's session and channel exclusively from `open` on. The tunnel lives as long as the `SSHConnection`
/// that holds it: `stop()` ends the pump and joins its thread.
final class JumpTunnel {
    private var thread: pthread_t
    /// Written to once to make the pump stop; the pump holds the other end.
    private let wake: Socket
    private var isStopped = false

    private init(thread: pthread_t, wake: Socket) {
        self.thread = thread
        self.wake = wake
    }

    deinit {
        stop()
    }

    /// Opens the tunnel and starts its pump.
    /// - Parameters:
    ///   - bastion: The authenticated connection to the jump host; the pump takes it over, so the caller
    ///     must not use it afterwards.
    ///   - host: The target as the jump host should resolve it.
    ///   - port: The target's SSH port.
    ///   - deadline: The connect deadline shared with the rest of the route.
    /// - Returns: The tunnel, and the socket the target's session must use.
    /// - Throws: `SSHError` with `.forwarding` when the jump host refuses or cannot reach the target,
    ///   `.timeout`, or `.io`; messages name the jump host.
    static func open(
        through bastion: SSHConnection,
        to host: String,
        port: Int,
        deadline: Deadline
    ) throws(SSHError) -> (tunnel: JumpTunnel, socket: Socket) {
        let session = bastion.session
        let target = Socket.endpoint(host: host, port: port)
        let channel: OpaquePointer
        do {
            channel = try session.callReturningHandle(
                "libssh2_channel_direct_tcpip_ex",
                .forwarding,
                what: "opening a tunnel to \(target)",
                hint: "",
                until: deadline
            ) { host.withCString { shipkeep_channel_direct_tcpip(session.raw, $0, Int32(port)) } }
        } catch {
            throw refusal(error, jumpHost: session.endpoint, target: target)
        }
        let sockets: (session: Socket, pump: Socket)
        let wake: (session: Socket, pump: Socket)
        do {
            sockets = try Socket.pair()
            wake = try Socket.pair()
        } catch {
            _ = session.finish("libssh2_channel_free", until: Deadline(seconds: 1)) { libssh2_channel_free(channel) }
            throw error.atJumpHost(session.endpoint)
        }
        let pump = TunnelPump(bastion: bastion, channel: channel, socket: sockets.pump, wake: wake.pump)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(pump).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            Unmanaged<TunnelPump>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<TunnelPump>.fromOpaque(context).release()
            throw SSHError(
                .connect,
                "jump host \(session.endpoint): cannot start the tunnel thread: \(Socket.errorText(status))"
            )
        }
        return (JumpTunnel(thread: thread, wake: wake.session), sockets.session)
    }

    /// Stops the pump and waits for its thread, which closes the channel and disconnects from the jump host,
    /// each step bounded so a dead jump host delays this by a few seconds at most. Data the target's session
    /// already wrote (its disconnect message) is forwarded first. Idempotent.
    func stop() {
        guard !isStopped else { return }
        isStopped = true
        var byte: UInt8 = 1
        _ = send(wake.descriptor, &byte, 1, PlatformSocket.noSignal)
        pthread_join(thread, nil)
        wake.close()
    }

    /// The error for a tunnel the jump host would not open, saying why in the words of the fix.
    private static func refusal(_ error: SSHError, jumpHost: String, target: String) -> SSHError {
        guard error.code == .forwarding, error.libssh2Code == LIBSSH2_ERROR_CHANNEL_FAILURE else {
            return error.atJumpHost(jumpHost)
        }
        let message: String
        if error.message.contains("administratively prohibited") {
            message = "jump host \(jumpHost) refused to open a tunnel to \(target) (administratively prohibited); "
                + "allow TCP forwarding for this user there (AllowTcpForwarding yes, and no restrict or "
                + "no-port-forwarding option on the key in its authorized_keys)"
        } else if error.message.contains("connect failed") {
            message = "jump host \(jumpHost) could not connect to \(target); check the target's address and port "
                + "as the jump host sees them, and that sshd runs there"
        } else {
            message = "jump host \(jumpHost) could not open a tunnel to \(target): \(error.message)"
        }
        return SSHError(.forwarding, message, libssh2Code: error.libssh2Code, function: error.function)
    }
}
