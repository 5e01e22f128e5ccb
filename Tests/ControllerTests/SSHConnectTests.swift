import Foundation
import Glibc
import ShipkeepSandbox
import Testing

@testable import Controller

/// Reaching the server: name resolution, refused and silent ports, IPv6, and peers that are not sshd.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SSHConnectTests {
    @Test func closedPortFailsFastWithConnect() throws {
        let server = try TestServer()
        let options = server.options()
        server.server.stop()
        let start = ContinuousClock.now
        let error = #expect(throws: SSHError.self) { try SSHConnection.connect(options) }
        #expect(seconds(since: start) < 3)
        #expect(error?.code == .connect)
        #expect(
            error?.message == "connection refused by 127.0.0.1:\(options.port); is sshd running and the port right?"
        )
    }

    @Test func unresolvableHostFailsWithResolve() throws {
        let options = SSHConnectOptions(
            host: "no-such-host.invalid",
            user: "nobody",
            hostKeyPolicy: .fingerprint("SHA256:" + String(repeating: "A", count: 43)),
            credentials: []
        )
        let error = #expect(throws: SSHError.self) { try SSHConnection.connect(options) }
        #expect(error?.code == .resolve)
        #expect(error?.message.contains("no-such-host.invalid") == true)
    }

    @Test func ipv6LoopbackWorks() throws {
        let interfaces = (try? String(contentsOfFile: "/proc/net/if_inet6", encoding: .utf8)) ?? ""
        try #require(
            interfaces.contains("00000000000000000000000000000001"),
            "this kernel has no ::1 on lo (/proc/net/if_inet6); IPv6 support cannot be tested here"
        )
        let server = try TestServer(listenAddress: "::1")
        let text = try String(contentsOfFile: server.server.knownHostsPath, encoding: .utf8)
        #expect(text.hasPrefix("[::1]:\(server.server.port) "))
        let connection = try server.connect()
        #expect(try run(connection, "echo six").stdoutText == "six\n")
        #expect(server.server.log().contains("Accepted publickey"))
    }

    @Test func hostNameIsResolved() throws {
        let server = try TestServer()
        var options = server.options(policy: .fingerprint(server.server.hostKeyFingerprint))
        options.host = "localhost"
        let connection = try SSHConnection.connect(options)
        #expect(try run(connection, "echo found").stdoutText == "found\n")
    }

    @Test func silentAddressTimesOutWithinConnectTimeout() throws {
        // A listener whose accept queue is full: Linux drops further SYNs, exactly like a black hole.
        let listener = try Listener(backlog: 0)
        let filler = try listener.connectClient()
        defer { close(filler) }
        var options = try blackholeOptions(port: listener.port)
        options.connectTimeout = 1.5
        let start = ContinuousClock.now
        let error = #expect(throws: SSHError.self) { try SSHConnection.connect(options) }
        let elapsed = seconds(since: start)
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("no answer from 127.0.0.1:\(listener.port) within 1.5 s") == true)
        #expect(elapsed >= 1.4 && elapsed < 5, "took \(elapsed) s")
    }

    @Test func serverThatNeverSpeaksTimesOutInTheHandshake() throws {
        // The kernel completes the TCP handshake into the accept queue; nobody ever sends a banner.
        let listener = try Listener(backlog: 4)
        var options = try blackholeOptions(port: listener.port)
        options.connectTimeout = 1.5
        let start = ContinuousClock.now
        let error = #expect(throws: SSHError.self) { try SSHConnection.connect(options) }
        let elapsed = seconds(since: start)
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("SSH handshake") == true)
        #expect(elapsed >= 1.4 && elapsed < 5, "took \(elapsed) s")
    }

    @Test func peerThatIsNotSSHFailsTheHandshake() throws {
        let listener = try Listener(backlog: 4)
        let descriptor = listener.descriptor
        let responder = Thread {
            let client = accept(descriptor, nil, nil)
            guard client >= 0 else { return }
            let reply = Array("HTTP/1.0 400 Bad Request\r\n\r\n".utf8)
            _ = send(client, reply, reply.count, Int32(MSG_NOSIGNAL))
            close(client)
        }
        responder.start()
        let options = try blackholeOptions(port: listener.port)
        let error = #expect(throws: SSHError.self) { try SSHConnection.connect(options) }
        #expect(error?.code == .handshake)
        #expect(error?.function == "libssh2_session_handshake")
        #expect(error?.message.contains("check that this host and port run an SSH server") == true)
    }

    @Test(arguments: [0, 70_000])
    func invalidPortIsRejectedBeforeConnecting(port: Int) throws {
        var options = try blackholeOptions(port: 22)
        options.port = port
        let error = #expect(throws: SSHError.self) { try SSHConnection.connect(options) }
        #expect(error?.code == .connect)
        #expect(error?.message.contains("\(port)") == true)
    }

    @Test func badPinFailsBeforeAnyConnection() throws {
        let server = try TestServer()
        // start() has already logged its readiness probe (sshd logs a connection before sending its banner).
        let connections = server.connectionsLogged
        let error = #expect(throws: SSHError.self) { try server.connect(policy: .fingerprint("not-a-fingerprint")) }
        #expect(error?.code == .hostKeyUnverifiable)
        let missing = #expect(throws: SSHError.self) {
            try server.connect(policy: .knownHosts(paths: [server.directory + "/missing"]))
        }
        #expect(missing?.code == .hostKeyUnverifiable)
        #expect(server.connectionsLogged == connections)
    }

    private func blackholeOptions(port: Int) throws -> SSHConnectOptions {
        SSHConnectOptions(
            host: "127.0.0.1",
            port: port,
            user: "nobody",
            hostKeyPolicy: .fingerprint("SHA256:" + String(repeating: "A", count: 43)),
            credentials: [.keyFile(path: "/nonexistent", passphrase: nil)],
            connectTimeout: 10
        )
    }
}

/// A listening TCP socket on 127.0.0.1 that never accepts on its own.
private final class Listener {
    /// The listening socket.
    let descriptor: Int32
    /// The port it listens on.
    let port: Int

    /// Listens with `backlog`; 0 lets exactly one connection wait in the accept queue.
    init(backlog: Int32) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, backlog) == 0
                    && getsockname(descriptor, $0, &length) == 0
            }
        }
        try #require(bound, "cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(descriptor)
    }

    /// A plain blocking client connection, completed by the kernel into the accept queue.
    func connectClient() throws -> Int32 {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        try #require(connected, "cannot fill the accept queue: \(String(cString: strerror(errno)))")
        return client
    }
}
