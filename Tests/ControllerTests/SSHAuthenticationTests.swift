import Foundation
import ShipkeepSandbox
import Testing

@testable import Controller

/// Authentication against a real sshd: key files, keys held in memory, passphrases, ssh-agent, and
/// failure messages that say what was tried without leaking secrets.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SSHAuthenticationTests {
    @Test func keyFileAuthenticates() throws {
        let server = try TestServer()
        let connection = try server.connect(credentials: [.keyFile(path: server.server.userKeyPath, passphrase: nil)])
        #expect(try run(connection, "echo in").stdoutText == "in\n")
        #expect(server.server.log().contains("Accepted publickey for \(server.server.user)"))
    }

    @Test func keyTextAuthenticatesFromMemory() throws {
        let server = try TestServer()
        let text = try String(contentsOfFile: server.server.userKeyPath, encoding: .utf8)
        let connection = try server.connect(credentials: [.keyText(text, passphrase: nil)])
        #expect(try run(connection, "echo in").stdoutText == "in\n")
    }

    @Test func passphraseProtectedKeyWorksWithTheRightPassphrase() throws {
        let server = try TestServer()
        let key = try server.generateKey("locked_key", passphrase: "open sesame")
        try server.server.authorize(publicKeyLine: key.publicLine, forcedCommand: nil)
        let fromFile = try server.connect(credentials: [.keyFile(path: key.path, passphrase: "open sesame")])
        #expect(try run(fromFile, "echo file").stdoutText == "file\n")
        let text = try String(contentsOfFile: key.path, encoding: .utf8)
        let fromMemory = try server.connect(credentials: [.keyText(text, passphrase: "open sesame")])
        #expect(try run(fromMemory, "echo memory").stdoutText == "memory\n")
    }

    @Test func wrongOrMissingPassphraseIsNamedWithoutRevealingIt() throws {
        let server = try TestServer()
        let key = try server.generateKey("locked_key", passphrase: "open sesame")
        try server.server.authorize(publicKeyLine: key.publicLine, forcedCommand: nil)
        let text = try String(contentsOfFile: key.path, encoding: .utf8)

        let wrong = #expect(throws: SSHError.self) {
            try server.connect(credentials: [.keyFile(path: key.path, passphrase: "guessed wrong")])
        }
        #expect(wrong?.code == .authentication)
        #expect(wrong?.message.contains("wrong passphrase") == true)
        #expect(wrong?.message.contains(key.path) == true)
        #expect(wrong?.description.contains("guessed wrong") == false)

        let missing = #expect(throws: SSHError.self) {
            try server.connect(credentials: [.keyText(text, passphrase: nil)])
        }
        #expect(missing?.code == .authentication)
        #expect(missing?.message.contains("passphrase-protected and no passphrase was given") == true)
        #expect(missing?.message.contains("SHIPKEEP_SSH_KEY") == true)
    }

    @Test func agentAuthenticates() throws {
        let server = try TestServer()
        let agent = try SSHAgentProcess(socketPath: server.directory + "/agent.sock")
        defer { agent.stop() }
        try agent.add(keyPath: server.server.userKeyPath)
        let connection = try server.connect(credentials: [.agent(socketPath: agent.socketPath)])
        #expect(try run(connection, "echo agent").stdoutText == "agent\n")
    }

    @Test func agentWithoutTheRightKeyReportsItsKeyCount() throws {
        let server = try TestServer()
        let stranger = try server.generateKey("stranger_key")
        let agent = try SSHAgentProcess(socketPath: server.directory + "/agent.sock")
        defer { agent.stop() }
        try agent.add(keyPath: stranger.path)
        let error = #expect(throws: SSHError.self) {
            try server.connect(credentials: [.agent(socketPath: agent.socketPath)])
        }
        #expect(error?.code == .authentication)
        #expect(error?.message.contains("ssh-agent at \(agent.socketPath) (1 key, none accepted)") == true)
    }

    @Test func credentialsAreTriedInOrder() throws {
        let server = try TestServer()
        let stranger = try server.generateKey("stranger_key")
        let connection = try server.connect(credentials: [
            .keyFile(path: stranger.path, passphrase: nil),
            .agent(socketPath: server.directory + "/no-agent.sock"),
            .keyFile(path: server.server.userKeyPath, passphrase: nil),
        ])
        #expect(try run(connection, "echo third").stdoutText == "third\n")
    }

    @Test func wrongKeyFailsListingWhatWasTriedAndNoSecrets() throws {
        let server = try TestServer()
        let stranger = try server.generateKey("stranger_key", passphrase: "hunter2hunter2")
        let strangerText = try String(contentsOfFile: stranger.path, encoding: .utf8)
        let missingPath = server.directory + "/no_such_key"
        let error = #expect(throws: SSHError.self) {
            try server.connect(credentials: [
                .keyFile(path: stranger.path, passphrase: "hunter2hunter2"),
                .keyText(strangerText, passphrase: "hunter2hunter2"),
                .keyFile(path: missingPath, passphrase: nil),
                .agent(socketPath: server.directory + "/no-agent.sock"),
            ])
        }
        #expect(error?.code == .authentication)
        let text = error.map { "\($0) \($0.message)" } ?? ""
        #expect(text.contains("key file \(stranger.path) (not accepted by the server)"))
        #expect(text.contains("key from SHIPKEEP_SSH_KEY (not accepted by the server)"))
        #expect(text.contains("key file \(missingPath) (does not exist)"))
        #expect(text.contains("ssh-agent at \(server.directory)/no-agent.sock (cannot be reached"))
        #expect(text.contains(server.server.user))
        #expect(!text.contains("hunter2"))
        #expect(!text.contains("PRIVATE KEY"))
        for line in strangerText.split(separator: "\n") where !line.hasPrefix("-----") {
            #expect(!text.contains(line))
        }
        // Printing a credential shows its label only.
        let credential = SSHCredential.keyText(strangerText, passphrase: "hunter2hunter2")
        #expect("\(credential)" == "key from SHIPKEEP_SSH_KEY")
        var dumped = ""
        dump(credential, to: &dumped)
        #expect(!dumped.contains("hunter2") && !dumped.contains("PRIVATE"))
    }

    @Test func serverHangingUpAfterTooManyKeysIsExplained() throws {
        let server = try TestServer()
        // sshd allows MaxAuthTries (6) attempts, then disconnects.
        var keys: [SSHCredential] = []
        for index in 0..<8 {
            keys.append(.keyFile(path: try server.generateKey("stranger_\(index)").path, passphrase: nil))
        }
        let error = #expect(throws: SSHError.self) { try server.connect(credentials: keys) }
        #expect(error?.code == .authentication)
        #expect(error?.message.contains("MaxAuthTries") == true)
        #expect(error?.message.contains("the server closed the connection: Too many authentication failures") == true)
        #expect(error?.message.contains("stranger_0 (not accepted by the server)") == true)
    }

    @Test func rsaKeyEitherWorksOrTheMessageSaysWhyNot() throws {
        let server = try TestServer()
        let rsa = try server.generateKey("rsa_key", type: "rsa")
        try server.server.authorize(publicKeyLine: rsa.publicLine, forcedCommand: nil)
        do {
            // libssh2 1.11+ signs with rsa-sha2 and gets in.
            _ = try server.connect(credentials: [.keyFile(path: rsa.path, passphrase: nil)])
        } catch {
            #expect(error.code == .authentication)
            #expect(error.message.contains("RSA keys need rsa-sha2 signatures"), "\(error)")
            #expect(error.message.contains("use an ed25519 key"))
        }
    }

    @Test func keyHeadersAreReadWithoutDecrypting() throws {
        let server = try TestServer(start: false)
        let plain = try server.generateKey("plain")
        let locked = try server.generateKey("locked", passphrase: "secret words")
        let rsa = try server.generateKey("rsa", type: "rsa")
        let info = { (path: String) in PrivateKeyInfo(keyText: try String(contentsOfFile: path, encoding: .utf8)) }
        #expect(try info(plain.path).encryption == .unencrypted)
        #expect(try !info(plain.path).isRSA)
        #expect(try info(locked.path).encryption == .encrypted)
        #expect(try info(rsa.path).isRSA)
        #expect(PrivateKeyInfo(keyText: "not a key").encryption == .unknown)
    }

    @Test func unknownUserIsRejected() throws {
        let server = try TestServer()
        var options = server.options()
        options.user = "no-such-user-here"
        let error = #expect(throws: SSHError.self) { try SSHConnection.connect(options) }
        #expect(error?.code == .authentication)
        #expect(error?.message.contains("no-such-user-here") == true)
    }

    @Test func noCredentialsIsAnAuthenticationError() throws {
        let server = try TestServer()
        let error = #expect(throws: SSHError.self) { try server.connect(credentials: []) }
        #expect(error?.code == .authentication)
        #expect(error?.message.contains("SHIPKEEP_SSH_KEY") == true)
    }
}
