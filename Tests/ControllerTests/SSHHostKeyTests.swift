import Foundation
import ShipkeepSandbox
import Testing

@testable import Controller

/// Host key verification against a real sshd: known_hosts in its plain, `[host]:port`, hashed and messy
/// forms, pinned fingerprints, and refusals that happen before any authentication.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SSHHostKeyTests {
    @Test func fingerprintMatchesSSHKeygen() throws {
        let server = try TestServer()
        let connection = try server.connect()
        #expect(connection.hostKey.type == "ssh-ed25519")
        #expect(connection.hostKey.fingerprint == server.server.hostKeyFingerprint)
        let printed = try runProcess(["ssh-keygen", "-lf", server.directory + "/ssh_host_ed25519_key.pub"])
        #expect(printed.stdout.split(separator: " ")[1] == Substring(connection.hostKey.fingerprint))
    }

    @Test func bracketedHostAndPortLineIsAccepted() throws {
        let server = try TestServer()
        let text = try String(contentsOfFile: server.server.knownHostsPath, encoding: .utf8)
        #expect(text.hasPrefix("[127.0.0.1]:\(server.server.port) ssh-ed25519 "))
        let result = try run(try server.connect(), "echo ok")
        #expect(result.stdoutText == "ok\n")
    }

    @Test func hashedLineIsAccepted() throws {
        let server = try TestServer()
        let path = try server.file(
            "hashed_known_hosts",
            "[127.0.0.1]:\(server.server.port) \(server.server.hostKeyPublicLine)\n"
        )
        let hashing = try runProcess(["ssh-keygen", "-H", "-f", path])
        #expect(hashing.status == 0, "\(hashing.stderr)")
        let hashed = try String(contentsOfFile: path, encoding: .utf8)
        #expect(hashed.hasPrefix("|1|"))
        #expect(!hashed.contains("127.0.0.1"))
        #expect(try server.connect(policy: .knownHosts(paths: [path])).hostKey.type == "ssh-ed25519")
    }

    @Test func unparsableLinesAreSkipped() throws {
        let server = try TestServer()
        let other = try server.generateKey("other_key")
        let text = """
            # a comment

            this line is garbage
            @cert-authority *.example.com \(other.publicLine)
            [198.51.100.7]:22 sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIA==
            |1|not-base64|also-not
            [127.0.0.1]:\(server.server.port) \(server.server.hostKeyPublicLine)
            """
        let path = try server.file("messy_known_hosts", text + "\r\n")
        #expect(try server.connect(policy: .knownHosts(paths: [path])).hostKey.type == "ssh-ed25519")
    }

    @Test func secondFileCanHoldTheKey() throws {
        let server = try TestServer()
        let empty = try server.file("empty_known_hosts", "")
        #expect(throws: Never.self) {
            try server.connect(policy: .knownHosts(paths: [empty, server.server.knownHostsPath]))
        }
    }

    @Test func mismatchIsRefusedBeforeAuthentication() throws {
        let server = try TestServer()
        let other = try server.generateKey("impostor_key")
        let otherKey = other.publicLine.split(separator: " ").prefix(2).joined(separator: " ")
        let path = try server.file("wrong_known_hosts", "[127.0.0.1]:\(server.server.port) \(otherKey)\n")
        let error = #expect(throws: SSHError.self) { try server.connect(policy: .knownHosts(paths: [path])) }
        #expect(error?.code == .hostKeyMismatch)
        let message = error?.message ?? ""
        #expect(message.contains(server.server.hostKeyFingerprint))
        #expect(message.contains("ssh-ed25519"))
        #expect(message.contains(path))
        #expect(message.contains("ssh-keygen -R '[127.0.0.1]:\(server.server.port)'"))
        expectRefusedBeforeAuthentication(server)
    }

    @Test func unknownHostIsRefusedBeforeAuthentication() throws {
        let server = try TestServer()
        let path = try server.file(
            "other_known_hosts",
            "[127.0.0.2]:\(server.server.port) \(server.server.hostKeyPublicLine)\n"
        )
        let error = #expect(throws: SSHError.self) { try server.connect(policy: .knownHosts(paths: [path])) }
        #expect(error?.code == .hostKeyUnknown)
        #expect(error?.message.contains(server.server.hostKeyFingerprint) == true)
        #expect(error?.message.contains("[127.0.0.1]:\(server.server.port)") == true)
        expectRefusedBeforeAuthentication(server)
    }

    @Test func hostKnownOnlyWithAnotherKeyTypeIsUnknownAndSaysSo() throws {
        let server = try TestServer()
        let ecdsa = try server.generateKey("ecdsa_key", type: "ecdsa")
        let line = ecdsa.publicLine.split(separator: " ").prefix(2).joined(separator: " ")
        let path = try server.file("ecdsa_known_hosts", "[127.0.0.1]:\(server.server.port) \(line)\n")
        let error = #expect(throws: SSHError.self) { try server.connect(policy: .knownHosts(paths: [path])) }
        #expect(error?.code == .hostKeyUnknown)
        #expect(error?.message.contains("ecdsa-sha2-nistp256") == true)
    }

    @Test func handshakeAsksForTheKeyTypeKnownHostsHas() throws {
        let server = try TestServer(start: false)
        let ecdsa = try server.server.addHostKey(type: "ecdsa")
        try server.server.start()
        // Only the ECDSA key is known: the handshake must ask for it even though ed25519 comes first.
        let path = try server.file("ecdsa_only", "[127.0.0.1]:\(server.server.port) \(ecdsa.publicLine)\n")
        let viaKnownHosts = try server.connect(policy: .knownHosts(paths: [path]))
        #expect(viaKnownHosts.hostKey.type == "ecdsa-sha2-nistp256")
        #expect(viaKnownHosts.hostKey.fingerprint == ecdsa.fingerprint)
        // With nothing to go on, ed25519 is preferred, like OpenSSH does (libssh2 alone would pick ECDSA).
        let pinned = try server.connect(policy: .fingerprint(server.server.hostKeyFingerprint))
        #expect(pinned.hostKey.type == "ssh-ed25519")
    }

    @Test func rsaOnlyKnownHostsEitherWorksOrSaysWhyNot() throws {
        let server = try TestServer(start: false)
        let rsa = try server.server.addHostKey(type: "rsa")
        try server.server.start()
        let path = try server.file("rsa_only", "[127.0.0.1]:\(server.server.port) \(rsa.publicLine)\n")
        do {
            // libssh2 1.11+ verifies rsa-sha2 host key signatures.
            let connection = try server.connect(policy: .knownHosts(paths: [path]))
            #expect(connection.hostKey.fingerprint == rsa.fingerprint)
        } catch {
            #expect(error.code == .hostKeyUnknown)
            #expect(error.message.contains("lists it only with ssh-rsa keys"), "\(error)")
            #expect(error.message.contains("add the host's ed25519 key"))
        }
    }

    @Test func revokedKeyIsRefused() throws {
        let server = try TestServer()
        let key = server.server.hostKeyPublicLine
        let path = try server.file(
            "revoked_known_hosts",
            "@revoked * \(key)\n[127.0.0.1]:\(server.server.port) \(key)\n"
        )
        let error = #expect(throws: SSHError.self) { try server.connect(policy: .knownHosts(paths: [path])) }
        #expect(error?.code == .hostKeyMismatch)
        #expect(error?.message.contains("@revoked") == true)
        expectRefusedBeforeAuthentication(server)
    }

    @Test func missingKnownHostsFileIsAClearError() throws {
        let server = try TestServer()
        let path = server.directory + "/does-not-exist"
        let error = #expect(throws: SSHError.self) { try server.connect(policy: .knownHosts(paths: [path])) }
        #expect(error?.code == .hostKeyUnverifiable)
        #expect(error?.message.contains("\(path) does not exist") == true)
        let none = #expect(throws: SSHError.self) { try server.connect(policy: .knownHosts(paths: [])) }
        #expect(none?.code == .hostKeyUnverifiable)
    }

    @Test func pinnedFingerprintIsAccepted() throws {
        let server = try TestServer()
        let connection = try server.connect(policy: .fingerprint(server.server.hostKeyFingerprint))
        #expect(try run(connection, "echo pinned").stdoutText == "pinned\n")
        // ssh-keygen -E sha256 output pasted with padding is tolerated.
        #expect(throws: Never.self) { try server.connect(policy: .fingerprint(server.server.hostKeyFingerprint + "=")) }
    }

    @Test func wrongPinnedFingerprintIsRefusedBeforeAuthentication() throws {
        let server = try TestServer()
        let wrong = "SHA256:" + String(repeating: "A", count: 43)
        let error = #expect(throws: SSHError.self) { try server.connect(policy: .fingerprint(wrong)) }
        #expect(error?.code == .hostKeyMismatch)
        #expect(error?.message.contains(wrong) == true)
        #expect(error?.message.contains(server.server.hostKeyFingerprint) == true)
        expectRefusedBeforeAuthentication(server)
    }

    @Test(arguments: ["MD5:12:34:56", "SHA256:tooshort", "", "AAAA"])
    func malformedPinIsRejected(pin: String) throws {
        let server = try TestServer()
        let error = #expect(throws: SSHError.self) { try server.connect(policy: .fingerprint(pin)) }
        #expect(error?.code == .hostKeyUnverifiable)
    }

    /// The client reached sshd and left with "host key not verifiable" before authenticating at all.
    private func expectRefusedBeforeAuthentication(
        _ server: TestServer,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            server.waitForLog("Received disconnect from 127.0.0.1"),
            "sshd log: \(server.server.log())",
            sourceLocation: sourceLocation
        )
        #expect(server.server.log().contains(":9: host key not trusted [preauth]"), sourceLocation: sourceLocation)
        #expect(!server.logShowsAuthentication, "sshd log: \(server.server.log())", sourceLocation: sourceLocation)
    }
}
