import CLibSSH2
import Foundation
import ShipkeepSandbox
import Testing

@testable import Controller

/// `SSHConnection` through a jump host: two real sshd, the bastion's log checked for the forward.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SSHJumpTests {
    /// A bastion that logs accepted forwards (DEBUG1) and a target; the target's key is also the bastion's.
    private func servers(allowTcpForwarding: Bool = true) throws -> (bastion: TestServer, target: TestServer) {
        let bastion = try TestServer(logLevel: "DEBUG1", allowTcpForwarding: allowTcpForwarding)
        let target = try TestServer()
        try bastion.server.authorize(publicKeyLine: target.server.userPublicKeyLine, forcedCommand: nil)
        return (bastion, target)
    }

    private func options(_ bastion: TestServer, _ target: TestServer, readTimeout: Double = 30) -> SSHConnectOptions {
        var options = target.options(readTimeout: readTimeout)
        options.jump = bastion.options()
        return options
    }

    /// What sshd logs at DEBUG1 for a `direct-tcpip` channel to `port` it accepted.
    private func forwardLogged(_ bastion: TestServer, to port: Int) -> Bool {
        bastion.waitForLog("target 127.0.0.1 port \(port)")
    }

    @Test func aCommandRunsOnTheTargetThroughTheJumpHostWithMegabytesBothWays() throws {
        let (bastion, target) = try servers()
        let connection = try SSHConnection.connect(options(bastion, target))
        #expect(connection.hostKey.fingerprint == target.server.hostKeyFingerprint)
        #expect(connection.jumpHostKey?.fingerprint == bastion.server.hostKeyFingerprint)
        var input = [UInt8](repeating: 0, count: 6 * 1024 * 1024)
        for index in input.indices { input[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 7) }
        let echoed = try run(connection, "cat", input: input)
        #expect(echoed.status == 0)
        #expect(echoed.stdout.count == input.count)
        #expect(echoed.stdout == input, "the tunnel changed bytes")
        let host = try run(connection, "echo $SSH_CONNECTION")
        #expect(host.stdoutText.contains(" \(target.server.port)"), "ran on the target: \(host.stdoutText)")
        #expect(forwardLogged(bastion, to: target.server.port), "bastion log: \(bastion.server.log())")
        let started = ContinuousClock.now
        connection.disconnect()
        #expect(seconds(since: started) < 3, "disconnect joins the pump promptly")
        #expect(target.waitForLog("Disconnected from user"), "the disconnect reached the target through the tunnel")
        #expect(bastion.waitForLog("Disconnected from user"), "the jump host connection was closed")
    }

    @Test func sftpWorksThroughTheJumpHost() throws {
        let (bastion, target) = try servers()
        let connection = try SSHConnection.connect(options(bastion, target))
        let sftp = try connection.sftp()
        let path = target.directory + "/through-the-bastion.bin"
        let data = (0..<(2 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) }
        try sftp.upload(data: data, to: path, mode: 0o600)
        #expect(FileManager.default.contents(atPath: path).map { [UInt8]($0) } == data)
        #expect(try sftp.readFile(path, limit: data.count) == data)
    }

    @Test func aJumpHostWithAnUnknownKeyIsRefusedBeforeAuthenticationAndTheTargetIsNeverContacted() throws {
        let (bastion, target) = try servers()
        var options = options(bastion, target)
        // The target's known_hosts does not list the bastion.
        options.jump?.hostKeyPolicy = .knownHosts(paths: [target.server.knownHostsPath])
        let targetConnections = target.connectionsLogged  // sshd's readiness probe
        let error = try #require(throws: SSHError.self) { try SSHConnection.connect(options) }
        #expect(error.code == .hostKeyUnknown)
        #expect(error.message.hasPrefix("jump host 127.0.0.1:\(bastion.server.port): "), "\(error.message)")
        #expect(error.message.contains(bastion.server.hostKeyFingerprint))
        #expect(bastion.waitForLog("Connection from"))
        #expect(!bastion.logShowsAuthentication, "a credential was sent to an unverified jump host")
        #expect(target.connectionsLogged == targetConnections)
    }

    @Test func aJumpHostThatForbidsForwardingGivesOneClearLine() throws {
        let (bastion, target) = try servers(allowTcpForwarding: false)
        let targetConnections = target.connectionsLogged  // sshd's readiness probe
        let error = try #require(throws: SSHError.self) { try SSHConnection.connect(options(bastion, target)) }
        #expect(error.code == .forwarding)
        #expect(error.message.contains("jump host 127.0.0.1:\(bastion.server.port) refused to open a tunnel to "
            + "127.0.0.1:\(target.server.port)"), "\(error.message)")
        #expect(!error.message.contains("\n"))
        #expect(target.connectionsLogged == targetConnections, "\(target.server.log())")
    }

    @Test func aRestrictedKeyOnTheJumpHostIsRefusedTheSameWay() throws {
        let bastion = try TestServer(forcedCommand: "/bin/true")
        let target = try TestServer()
        var options = target.options()
        options.jump = bastion.options()
        let error = try #require(throws: SSHError.self) { try SSHConnection.connect(options) }
        #expect(error.code == .forwarding)
        #expect(error.message.contains("refused to open a tunnel"), "\(error.message)")
    }

    @Test func aTargetPortThatIsClosedIsReportedAsSeenFromTheJumpHost() throws {
        let (bastion, target) = try servers()
        target.server.stop()
        let error = try #require(throws: SSHError.self) { try SSHConnection.connect(options(bastion, target)) }
        #expect(error.code == .forwarding)
        #expect(error.message.contains("could not connect to 127.0.0.1:\(target.server.port)"), "\(error.message)")
    }

    @Test func aJumpHostThatDiesFailsTheTargetsReadsWithAnIOError() throws {
        let (bastion, target) = try servers()
        let connection = try SSHConnection.connect(options(bastion, target))
        let channel = try connection.exec("sleep 60")
        #expect(bastion.server.signalSessions(SIGKILL) > 0)
        let started = ContinuousClock.now
        let error = try #require(throws: SSHError.self) {
            while true { _ = try channel.read(timeout: 5) }
        }
        #expect(error.code == .io, "\(error)")
        #expect(seconds(since: started) < 5)
    }

    @Test func aJumpHostThatFreezesFailsTheTargetsReadsWithTheReadTimeout() throws {
        let (bastion, target) = try servers()
        let connection = try SSHConnection.connect(options(bastion, target, readTimeout: 2))
        let channel = try connection.exec("sleep 60")
        #expect(bastion.server.signalSessions(SIGSTOP) > 0)
        defer { bastion.server.signalSessions(SIGKILL) }
        let started = ContinuousClock.now
        let error = try #require(throws: SSHError.self) {
            while true { _ = try channel.read(timeout: 5) }
        }
        #expect(error.code == .timeout, "\(error)")
        #expect(seconds(since: started) < 5)
        let stopping = ContinuousClock.now
        connection.disconnect()
        #expect(seconds(since: stopping) < 8, "stopping the tunnel of a frozen jump host is bounded")
    }

    @Test func theWholeRouteSharesTheConnectTimeout() throws {
        let (bastion, target) = try servers()
        // A port that accepts connections (the kernel completes them) but never sends an SSH banner.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(silent, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(bound == 0 && listen(silent, 4) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(silent, $0, &length) }
        }
        var options = options(bastion, target)
        options.port = Int(UInt16(bigEndian: address.sin_port))
        options.connectTimeout = 2
        let started = ContinuousClock.now
        let error = try #require(throws: SSHError.self) { try SSHConnection.connect(options) }
        #expect(error.code == .timeout, "\(error)")
        #expect(error.message.contains("handshake"), "\(error.message)")
        #expect(seconds(since: started) < 4)
    }
}
