import Foundation
import ShipkeepSandbox
import Testing

@testable import Controller

/// The test harness itself: the sandbox sshd, the agent and the process runner.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SSHServerTests {
    @Test func serverPublishesItsKeyAndStopsIdempotently() throws {
        let server = try TestServer()
        let sshd = server.server
        #expect(sshd.port > 0)
        #expect(sshd.hostKeyPublicLine.hasPrefix("ssh-ed25519 AAAA"))
        #expect(sshd.hostKeyPublicLine.split(separator: " ").count == 2)
        #expect(sshd.hostKeyFingerprint.hasPrefix("SHA256:") && sshd.hostKeyFingerprint.count == 50)
        let knownHosts = try String(contentsOfFile: sshd.knownHostsPath, encoding: .utf8)
        #expect(knownHosts == "[127.0.0.1]:\(sshd.port) \(sshd.hostKeyPublicLine)\n")
        for path in [sshd.userKeyPath, sshd.directory + "/ssh_host_ed25519_key", sshd.directory + "/authorized_keys"] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(path)")
        }
        let options = server.options()
        sshd.stop()
        sshd.stop()
        let error = #expect(throws: SSHError.self) { try SSHConnection.connect(options) }
        #expect(error?.code == .connect)
    }

    @Test func forcedCommandIsQuotedIntoAuthorizedKeys() throws {
        let server = try TestServer(forcedCommand: #"printf '%s\n' "quoted \"arg\"""#)
        let line = try String(contentsOfFile: server.directory + "/authorized_keys", encoding: .utf8)
        #expect(line.hasPrefix(#"restrict,command="printf '%s\n' \"quoted \\"arg\\"\"" ssh-ed25519 "#))
        let result = try run(try server.connect(), "ignored")
        #expect(result.stdoutText == "quoted \"arg\"\n")
    }

    @Test func agentStartsAndStops() throws {
        let directory = NSTemporaryDirectory() + "shipkeep-agent-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = try SSHAgentProcess(socketPath: directory + "/agent.sock")
        #expect(FileManager.default.fileExists(atPath: agent.socketPath))
        let empty = try runProcess(["ssh-add", "-l"], environment: ["SSH_AUTH_SOCK": agent.socketPath])
        #expect(empty.status == 1)
        agent.stop()
        agent.stop()
        #expect(!FileManager.default.fileExists(atPath: agent.socketPath))
    }

    @Test func runProcessCapturesOutputStatusAndInput() throws {
        let result = try runProcess(
            ["sh", "-c", #"cat; printf "%s|%s" "$PWD" "$SHIPKEEP_PROBE" >&2; exit 3"#],
            cwd: "/tmp",
            environment: ["SHIPKEEP_PROBE": "yes"],
            stdin: "from stdin\n"
        )
        #expect(result.status == 3)
        #expect(result.stdout == "from stdin\n")
        #expect(result.stderr == "/tmp|yes")
        let killed = try runProcess(["sh", "-c", "kill -KILL $$"])
        #expect(killed.status == 128 + 9)
        #expect(throws: SandboxError.self) { try runProcess(["shipkeep-no-such-program"]) }
    }
}
