import Foundation
import Platform

/// Small TCP helpers for starting servers on loopback: finding a free port and checking that a server
/// answers with an SSH banner.
enum LoopbackPort {
    /// A port the kernel considers free on `address` right now. Another process may still take it before
    /// the server binds; callers retry on a bind failure.
    /// - Parameter address: An IPv4 or IPv6 literal.
    /// - Throws: `SandboxError` if no socket can be bound.
    static func free(on address: String) throws -> Int {
        try withSocket(address: address, port: 0) { descriptor, storage, length in
            guard bind(descriptor, storage, length) == 0 else {
                throw SandboxError("cannot bind a socket to \(address): \(String(cString: strerror(errno)))")
            }
            var bound = sockaddr_storage()
            var boundLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &boundLength) }
            }
            return withUnsafeBytes(of: &bound) { bytes in
                // sin_port and sin6_port sit at the same offset, in network byte order.
                Int(UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
            }
        }
    }

    /// Whether something accepts a TCP connection on `address:port` and greets with "SSH-" within `timeout`.
    /// - Parameters:
    ///   - address: An IPv4 or IPv6 literal.
    ///   - port: The port.
    ///   - timeout: Seconds for connect and banner together.
    static func answersSSH(address: String, port: Int, timeout: Double) -> Bool {
        (try? withSocket(address: address, port: port) { descriptor, storage, length in
            let flags = fcntl(descriptor, F_GETFL)
            _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
            if connect(descriptor, storage, length) != 0 && errno != EINPROGRESS {
                return false
            }
            var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            guard poll(&entry, 1, Int32(timeout * 1000)) == 1, entry.revents & Int16(POLLOUT) != 0 else {
                return false
            }
            var failure: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &size) == 0, failure == 0 else {
                return false
            }
            entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, Int32(timeout * 1000)) == 1 else { return false }
            var banner = [UInt8](repeating: 0, count: 4)
            return recv(descriptor, &banner, 4, 0) == 4 && banner == Array("SSH-".utf8)
        }) ?? false
    }

    private static func withSocket<Result>(
        address: String,
        port: Int,
        _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) throws -> Result
    ) throws -> Result {
        var storage = sockaddr_storage()
        let isIPv6 = address.contains(":")
        let family = isIPv6 ? AF_INET6 : AF_INET
        let length: socklen_t
        if isIPv6 {
            var ipv6 = sockaddr_in6()
            ipv6.sin6_family = sa_family_t(AF_INET6)
            ipv6.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, address, &ipv6.sin6_addr) == 1 else {
                throw SandboxError("\(address) is not an IPv6 address")
            }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: ipv6, as: sockaddr_in6.self) }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            var ipv4 = sockaddr_in()
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, address, &ipv4.sin_addr) == 1 else {
                throw SandboxError("\(address) is not an IPv4 address; use a numeric loopback address")
            }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: ipv4, as: sockaddr_in.self) }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        }
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw SandboxError("cannot create a socket: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        return try withUnsafePointer(to: &storage) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body(descriptor, $0, length) }
        }
    }
}
