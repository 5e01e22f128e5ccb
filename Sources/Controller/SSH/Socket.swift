import Platform

/// A connected, non-blocking TCP socket that owns its file descriptor.
///
/// libssh2 only reads and writes the descriptor; creating, waiting on and closing it stays here so the
/// close happens exactly once and after `libssh2_session_free`.
final class Socket {
    /// The descriptor handed to libssh2.
    let descriptor: Int32
    private var isClosed = false

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close()
    }

    /// Resolves `host` and connects to the first address that accepts, IPv4 or IPv6.
    ///
    /// Each address gets an equal share of the time left, so one black-holed address cannot use up the
    /// whole budget before a working one is tried.
    /// - Parameters:
    ///   - host: A host name or an IPv4/IPv6 literal.
    ///   - port: The TCP port.
    ///   - deadline: When to give up.
    /// - Returns: The connected socket, with `TCP_NODELAY` set.
    /// - Throws: `SSHError` with `.resolve`, `.connect` (refused, unreachable) or `.timeout`.
    static func connect(host: String, port: Int, deadline: Deadline) throws(SSHError) -> Socket {
        let endpoint = Socket.endpoint(host: host, port: port)
        let addresses = try resolve(host: host, port: port)
        var failures: [(address: String, errno: Int32?)] = []
        for (index, address) in addresses.enumerated() {
            let share = Deadline(seconds: deadline.remaining / Double(addresses.count - index))
            switch attempt(address, until: share.earliest(deadline)) {
            case .connected(let socket):
                return socket
            case .failed(let error):
                failures.append((address.text, error))
            case .timedOut:
                failures.append((address.text, nil))
            }
        }
        let detail =
            addresses.count > 1
            ? " (tried "
                + failures.map { "\($0.address): \($0.errno.map(Socket.errorText) ?? "timed out")" }
                .joined(separator: ", ") + ")"
            : ""
        if failures.contains(where: { $0.errno == nil }) {
            throw SSHError(
                .timeout,
                "no answer from \(endpoint) within \(Deadline.describe(deadline.budget))\(detail); check the address, "
                    + "that the host is up and that no firewall drops SSH traffic"
            )
        }
        if failures.allSatisfy({ $0.errno == ECONNREFUSED }) {
            throw SSHError(.connect, "connection refused by \(endpoint)\(detail); is sshd running and the port right?")
        }
        let first = failures.first?.errno.map(Socket.errorText) ?? "no usable address"
        throw SSHError(.connect, "cannot connect to \(endpoint): \(first)\(detail); check the address and the network")
    }

    /// Waits until the socket is ready for `events` (`POLLIN`, `POLLOUT`) or the deadline passes.
    /// - Parameters:
    ///   - events: The `poll(2)` events to wait for.
    ///   - deadline: When to stop waiting.
    /// - Returns: The returned events; 0 when the deadline passed first. Errors and hang-ups are returned as
    ///   events too: the next libssh2 call on the socket reports them with better context.
    @discardableResult
    func wait(for events: Int16, until deadline: Deadline) -> Int16 {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        while true {
            let result = poll(&entry, 1, deadline.pollMilliseconds)
            if result > 0 {
                return entry.revents
            }
            if result == 0 || deadline.hasPassed {
                return 0
            }
            if errno != EINTR {
                return Int16(POLLERR)
            }
        }
    }

    /// A connected pair of non-blocking Unix stream sockets, for an SSH session that runs over a jump host's
    /// tunnel instead of TCP: libssh2 needs a descriptor, and the other end is fed by the tunnel's pump.
    /// - Returns: The session's end and the pump's end.
    /// - Throws: `SSHError` with `.connect` when the system is out of descriptors.
    static func pair() throws(SSHError) -> (session: Socket, pump: Socket) {
        guard let (session, pump) = PlatformSocket.pair() else {
            throw SSHError(.connect, "cannot create a socket pair for the jump host tunnel: \(errorText(errno))")
        }
        return (Socket(descriptor: session), Socket(descriptor: pump))
    }

    /// Tells the other end that nothing more will be sent; what was sent is still delivered.
    func shutdownWrite() {
        guard !isClosed else { return }
        _ = shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Stops all traffic so that any further send or receive fails immediately instead of waiting.
    func shutdownBothDirections() {
        guard !isClosed else { return }
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// Closes the descriptor. Idempotent.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        _ = Platform.close(descriptor)
    }

    // MARK: - Resolution and connect

    private struct Address {
        let family: Int32
        let type: Int32
        let proto: Int32
        let storage: [UInt8]
        let text: String
    }

    private enum Attempt {
        case connected(Socket)
        case failed(Int32)
        case timedOut
    }

    private static func resolve(host: String, port: Int) throws(SSHError) -> [Address] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = PlatformSocket.stream
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        // No AI_ADDRCONFIG: it hides ::1 on hosts whose only IPv6 address is on loopback.
        let status = host.withCString { name in
            String(port).withCString { service in getaddrinfo(name, service, &hints, &list) }
        }
        guard status == 0, let list else {
            let reason = status == EAI_SYSTEM ? Socket.errorText(errno) : String(cString: gai_strerror(status))
            throw SSHError(.resolve, "cannot resolve host '\(host)': \(reason); check the host name and DNS")
        }
        defer { freeaddrinfo(list) }
        var addresses: [Address] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let info = cursor?.pointee {
            cursor = info.ai_next
            guard let sockaddr = info.ai_addr else { continue }
            let bytes = UnsafeRawBufferPointer(start: sockaddr, count: Int(info.ai_addrlen))
            addresses.append(
                Address(
                    family: info.ai_family,
                    type: info.ai_socktype,
                    proto: info.ai_protocol,
                    storage: Array(bytes),
                    text: numericHost(sockaddr, length: info.ai_addrlen)
                )
            )
        }
        guard !addresses.isEmpty else {
            throw SSHError(.resolve, "host '\(host)' has no usable address; check the host name and DNS")
        }
        return addresses
    }

    private static func attempt(_ address: Address, until deadline: Deadline) -> Attempt {
        let descriptor = PlatformSocket.open(address.family, address.type, address.proto)
        guard descriptor >= 0 else { return .failed(errno) }
        let socket = Socket(descriptor: descriptor)
        let result = address.storage.withUnsafeBytes { bytes in
            Platform.connect(
                descriptor,
                bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self),
                socklen_t(bytes.count)
            )
        }
        // EINTR leaves the connect running asynchronously, exactly like EINPROGRESS.
        if result != 0 && errno != EINPROGRESS && errno != EINTR {
            return .failed(errno)
        }
        if result != 0 {
            guard socket.wait(for: Int16(POLLOUT), until: deadline) != 0 else { return .timedOut }
            var pending: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &pending, &length) == 0 else { return .failed(errno) }
            guard pending == 0 else { return .failed(pending) }
        }
        var enabled: Int32 = 1
        // SSH packets are small and latency bound; Nagle would delay every request line.
        _ = setsockopt(
            descriptor,
            Int32(IPPROTO_TCP),
            TCP_NODELAY,
            &enabled,
            socklen_t(MemoryLayout<Int32>.size)
        )
        return .connected(socket)
    }

    private static func numericHost(_ address: UnsafePointer<sockaddr>, length: socklen_t) -> String {
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(address, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else {
            return "?"
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `host:port`, with IPv6 literals in brackets (`[::1]:22`), for messages.
    /// - Parameters:
    ///   - host: Host name or address.
    ///   - port: TCP port.
    static func endpoint(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The `strerror` text for an errno value.
    /// - Parameter code: An errno value.
    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
