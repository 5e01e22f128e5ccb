import CLibSSH2
import Platform

/// Shuttles bytes between a jump host's `direct-tcpip` channel and one end of a local socket pair, on a
/// thread of its own, until either side ends or it is told to stop.
///
/// `@unchecked Sendable` because it is handed to its thread once: it is created on the connecting thread,
/// which never touches it again after `pthread_create`, and from then on only the pump thread uses the jump
/// host's session, channel and sockets. libssh2's rule that a session is used by one thread at a time holds.
final class TunnelPump: @unchecked Sendable {
    private let bastion: SSHConnection
    private let session: SSHSession
    private let channel: OpaquePointer
    private let socket: Socket
    private let wake: Socket

    /// Bytes from the target's session not yet accepted by the channel.
    private var upstream: [UInt8] = []
    private var upstreamOffset = 0
    /// Bytes from the channel not yet accepted by the socket pair.
    private var downstream: [UInt8] = []
    private var downstreamOffset = 0
    private var buffer = [UInt8](repeating: 0, count: 32 * 1024)
    /// The target's session closed its end (disconnect, or the session was freed).
    private var socketEOF = false
    /// The channel's far end (the target's sshd) closed the connection.
    private var channelEOF = false
    private var eofSent = false
    private var socketShut = false
    /// When set, the pump finishes forwarding what is left until then and stops.
    private var linger: Deadline?
    /// The call that left a packet half sent; libssh2 accepts only that same call until it is complete.
    private var pendingSend: PendingSend?

    private enum PendingSend {
        case write, read, eof
    }

    /// Takes over the jump host's connection and an open `direct-tcpip` channel on it.
    /// - Parameters:
    ///   - bastion: The connection to the jump host; disconnected when the pump ends.
    ///   - channel: The open `direct-tcpip` channel, freed when the pump ends.
    ///   - socket: The pump's end of the socket pair.
    ///   - wake: Readable once the owner wants the pump to stop.
    init(bastion: SSHConnection, channel: OpaquePointer, socket: Socket, wake: Socket) {
        self.bastion = bastion
        self.session = bastion.session
        self.channel = channel
        self.socket = socket
        self.wake = wake
    }

    /// The thread's body: forwards until the tunnel ends, then closes the channel, the socket and the jump
    /// host's session.
    func run() {
        do {
            try forward()
        } catch {
            // The jump host's connection broke; closing the socket pair makes the target's session fail with
            // its normal I/O error.
        }
        socket.shutdownBothDirections()
        // Like SSHChannel's deinit: send the close completely, but do not wait for the jump host to answer it.
        let session = session
        _ = session.finish("libssh2_channel_free", until: Deadline(seconds: 1), giveUp: { !session.isSendPending }) {
            libssh2_channel_free(channel)
        }
        bastion.disconnect()
        socket.close()
        wake.close()
    }

    private func forward() throws(SSHError) {
        while true {
            if let linger, linger.hasPassed { return }
            if let pending = pendingSend, session.isSendPending {
                try repeatSend(pending)
                if session.isSendPending {
                    try wait()
                    continue
                }
            }
            pendingSend = nil
            var progressed = try moveUpstream()
            progressed = try moveDownstream() || progressed
            // Once the target's session has ended (its disconnect message forwarded, then EOF), the pump waits
            // for the target to hang up, within `linger`: the jump host's sshd drops channel data it has not
            // yet written out when its own connection is closed, so leaving at once would lose that message.
            if channelEOF && downstreamOffset == downstream.count {
                return  // the target hung up and everything it sent was delivered
            }
            if !progressed {
                try wait()
            }
        }
    }

    // MARK: - Directions

    /// Target's session → channel.
    private func moveUpstream() throws(SSHError) -> Bool {
        var progressed = false
        if upstreamOffset == upstream.count && !socketEOF {
            let count = buffer.withUnsafeMutableBytes { recv(socket.descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                upstream = Array(buffer[0..<count])
                upstreamOffset = 0
                progressed = true
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                socketEOF = true
                progressed = true
                linger = linger ?? Deadline(seconds: 1)
            }
        }
        if upstreamOffset < upstream.count {
            let written = try send(.write)
            if let written, written > 0 {
                upstreamOffset += written
                progressed = true
            }
        }
        if socketEOF && upstreamOffset == upstream.count && !eofSent {
            if try send(.eof) != nil {
                eofSent = true
                progressed = true
            }
        }
        return progressed
    }

    /// Channel → target's session.
    private func moveDownstream() throws(SSHError) -> Bool {
        var progressed = false
        if downstreamOffset == downstream.count && !channelEOF {
            if let count = try send(.read), count > 0 {
                downstream = Array(buffer[0..<count])
                downstreamOffset = 0
                progressed = true
            } else if libssh2_channel_eof(channel) == 1 {
                channelEOF = true
                progressed = true
            }
        }
        if downstreamOffset < downstream.count {
            let count = downstream.withUnsafeBytes { bytes in
                Platform.send(
                    socket.descriptor,
                    bytes.baseAddress! + downstreamOffset,
                    bytes.count - downstreamOffset,
                    PlatformSocket.noSignal
                )
            }
            if count > 0 {
                downstreamOffset += count
                progressed = true
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                // The target's session is gone: nobody is left to deliver to.
                downstreamOffset = downstream.count
                socketEOF = true
                linger = linger ?? Deadline(seconds: 1)
                progressed = true
            }
        }
        if channelEOF && downstreamOffset == downstream.count && !socketShut {
            socket.shutdownWrite()
            socketShut = true
            progressed = true
        }
        return progressed
    }

    // MARK: - libssh2 calls

    /// Makes one channel call that may send.
    /// - Returns: Its non-negative result, or nil for EAGAIN (remembering the call if it left a packet half
    ///   sent, so that only it is repeated).
    private func send(_ operation: PendingSend) throws(SSHError) -> Int? {
        let wasPending = session.isSendPending
        let result: Int?
        switch operation {
        case .write:
            result = try session.check(
                upstream.withUnsafeBytes { bytes in
                    shipkeep_channel_write(
                        channel,
                        bytes.baseAddress!.assumingMemoryBound(to: CChar.self) + upstreamOffset,
                        bytes.count - upstreamOffset
                    )
                },
                "libssh2_channel_write_ex",
                .io,
                what: "forwarding to the target through jump host \(session.endpoint)",
                hint: "the jump host connection was lost; retry"
            )
        case .read:
            result = try session.check(
                buffer.withUnsafeMutableBytes { bytes in
                    shipkeep_channel_read(channel, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
                },
                "libssh2_channel_read_ex",
                .io,
                what: "reading from the target through jump host \(session.endpoint)",
                hint: "the jump host connection was lost; retry"
            )
        case .eof:
            result = try session.check(
                libssh2_channel_send_eof(channel),
                "libssh2_channel_send_eof",
                .io,
                what: "closing the tunnel through jump host \(session.endpoint)",
                hint: ""
            )
        }
        if result == nil && !wasPending && session.isSendPending {
            pendingSend = operation
        }
        return result
    }

    private func repeatSend(_ operation: PendingSend) throws(SSHError) {
        switch operation {
        case .write:
            if let written = try send(.write), written > 0 { upstreamOffset += written }
        case .read:
            if let count = try send(.read), count > 0 {
                downstream = Array(buffer[0..<count])
                downstreamOffset = 0
            }
        case .eof:
            if try send(.eof) != nil { eofSent = true }
        }
    }

    // MARK: - Waiting

    /// Waits until the jump host's socket, the socket pair or the wake socket has something to do.
    private func wait() throws(SSHError) {
        var bastionEvents = Int16(POLLIN)
        if libssh2_session_block_directions(session.raw) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 {
            bastionEvents |= Int16(POLLOUT)
        }
        var pairEvents: Int16 = 0
        if upstreamOffset == upstream.count && !socketEOF && pendingSend == nil {
            pairEvents |= Int16(POLLIN)
        }
        if downstreamOffset < downstream.count {
            pairEvents |= Int16(POLLOUT)
        }
        var entries = [
            pollfd(fd: session.socket.descriptor, events: bastionEvents, revents: 0),
            pollfd(fd: socket.descriptor, events: pairEvents, revents: 0),
            pollfd(fd: wake.descriptor, events: linger == nil ? Int16(POLLIN) : 0, revents: 0),
        ]
        // Capped so that a wait libssh2 gave no direction for is looked at again soon.
        let limit = (linger ?? Deadline(seconds: 1)).earliest(Deadline(seconds: 1))
        _ = poll(&entries, nfds_t(entries.count), limit.pollMilliseconds)
        if entries[2].revents != 0 && linger == nil {
            linger = Deadline(seconds: 1)
        }
    }
}
