import Foundation
import ShipkeepSandbox
import Testing

@testable import Controller

/// A started sshd in a fresh temporary directory; stopped and removed when released.
final class TestServer {
    /// The sandbox sshd.
    let server: SSHServer

    /// Generates keys and, unless `start` is false, starts sshd.
    init(
        forcedCommand: String? = nil,
        listenAddress: String = "127.0.0.1",
        logLevel: String = "VERBOSE",
        allowTcpForwarding: Bool = true,
        start: Bool = true
    ) throws {
        let directory = NSTemporaryDirectory() + "shipkeep-ssh-test-" + UUID().uuidString.prefix(8)
        server = try SSHServer(
            directory: directory,
            forcedCommand: forcedCommand,
            listenAddress: listenAddress,
            logLevel: logLevel,
            allowTcpForwarding: allowTcpForwarding
        )
        if start {
            try server.start()
        }
    }

    deinit {
        server.stop()
        server.removeDirectory()
    }

    /// The server's directory, for extra files.
    var directory: String { server.directory }

    /// Options that connect with the generated key and the generated known_hosts file.
    func options(
        policy: HostKeyPolicy? = nil,
        credentials: [SSHCredential]? = nil,
        connectTimeout: Double = 10,
        readTimeout: Double = 30
    ) -> SSHConnectOptions {
        SSHConnectOptions(
            host: server.listenAddress,
            port: server.port,
            user: server.user,
            hostKeyPolicy: policy ?? .knownHosts(paths: [server.knownHostsPath]),
            credentials: credentials ?? [.keyFile(path: server.userKeyPath, passphrase: nil)],
            connectTimeout: connectTimeout,
            readTimeout: readTimeout
        )
    }

    /// Connects with `options(…)`.
    func connect(
        policy: HostKeyPolicy? = nil,
        credentials: [SSHCredential]? = nil,
        readTimeout: Double = 30,
        keepaliveInterval: Int = 10
    ) throws(SSHError) -> SSHConnection {
        var options = options(policy: policy, credentials: credentials, readTimeout: readTimeout)
        options.keepaliveInterval = keepaliveInterval
        return try SSHConnection.connect(options)
    }

    /// Writes `text` to a new file in the server's directory and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Generates a key pair in the server's directory; returns the private key path and public key line.
    func generateKey(
        _ name: String,
        type: String = "ed25519",
        passphrase: String = ""
    ) throws -> (path: String, publicLine: String) {
        let path = directory + "/" + name
        let result = try runProcess(["ssh-keygen", "-q", "-t", type, "-N", passphrase, "-C", name, "-f", path])
        try #require(result.status == 0, "ssh-keygen: \(result.stderr)")
        let publicLine = try String(contentsOfFile: path + ".pub", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return (path, publicLine)
    }

    /// How many TCP connections sshd has logged.
    var connectionsLogged: Int {
        server.log().components(separatedBy: "Connection from ").count - 1
    }

    /// Waits until sshd's log contains `text`: its per-connection process writes after the client has moved on.
    func waitForLog(_ text: String, timeout: Double = 10) -> Bool {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while !server.log().contains(text) {
            guard ContinuousClock.now < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    /// Whether sshd logged any authentication attempt.
    var logShowsAuthentication: Bool {
        let log = server.log()
        return ["Accepted", "Failed publickey", "Postponed", "publickey"].contains { log.contains($0) }
    }
}

/// What one command produced.
struct ExecResult {
    /// Everything on stdout.
    var stdout: [UInt8] = []
    /// Everything on stderr.
    var stderr: [UInt8] = []
    /// The exit status, nil if a signal ended the command.
    var status: Int32?
    /// The signal that ended the command.
    var signal: String?

    /// stdout as UTF-8 text.
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// stderr as UTF-8 text.
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs `command`, feeds it `input`, reads until EOF and returns everything.
func run(_ connection: SSHConnection, _ command: String, input: [UInt8]? = nil) throws -> ExecResult {
    let channel = try connection.exec(command)
    if let input {
        try channel.write(input)
        try channel.sendEOF()
    }
    var result = ExecResult()
    var finished = false
    while !finished {
        for event in try channel.read(timeout: 5) {
            switch event {
            case .stdout(let bytes): result.stdout += bytes
            case .stderr(let bytes): result.stderr += bytes
            case .eof: finished = true
            }
        }
    }
    (result.status, result.signal) = try channel.waitExit()
    return result
}

/// Seconds since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = (ContinuousClock.now - start).components
    return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
}
