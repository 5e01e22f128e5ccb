import Testing
@testable import Controller

/// What copying a key into a CI secret does to it, and what is left for the message to say.
@Suite struct PastedKeyTests {
    static let key = """
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
        QyNTUxOQAAACDmsDY8lC4tH6kGzpZz3m0pJw0tH0o4yX9Zb6bJxv0yQgAAAJg=
        -----END OPENSSH PRIVATE KEY-----

        """

    @Test(arguments: [
        key.replacingOccurrences(of: "\n", with: "\r\n"),
        key.replacingOccurrences(of: "\n", with: "  \n"),
        String(key.dropLast()),
        "\n\n  " + key + "\n \n",
        key.replacingOccurrences(of: "\n", with: " "),
        key.replacingOccurrences(of: "\n", with: "\\n"),
    ])
    func pastingDamageIsRepaired(pasted: String) {
        let key = PastedKey(pasted)
        #expect(key.problem == nil)
        #expect(key.text == Self.key, "\(key.text.debugDescription)")
    }

    @Test func aKeyWithHeadersIsNotRewrapped() {
        let pem = "-----BEGIN RSA PRIVATE KEY----- Proc-Type: 4,ENCRYPTED  abc -----END RSA PRIVATE KEY-----"
        #expect(PastedKey(pem).text == pem + "\n")
    }

    @Test(arguments: [
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOaw ci@runner", "ssh-ed25519"),
        ("restrict,command=\"shipkeep-agent serve\" ssh-ed25519 AAAAC3Nz ci", "ssh-ed25519"),
        ("ecdsa-sha2-nistp256 AAAAE2VjZHNh", "ecdsa-sha2-nistp256"),
        ("-----BEGIN SSH2 PUBLIC KEY-----\nAAAAB3Nza\n-----END SSH2 PUBLIC KEY-----", "SSH2 PUBLIC KEY"),
        ("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----", "PUBLIC KEY"),
    ])
    func publicKeysAreRecognised(text: String, type: String) {
        #expect(PastedKey(text).problem == .publicKey(type: type))
    }

    @Test func otherTextIsNotAKey() {
        #expect(PastedKey("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none").problem == .puttyKey)
        #expect(PastedKey("hunter2").problem == .notAKey)
        #expect(PastedKey(" \r\n ").text.isEmpty)
    }

    @Test func theMessageNamesTheSettingWhereItWasSet() {
        let commandLine = TargetOptions.message(for: .publicKey(type: "ssh-ed25519"),
                                                names: SettingNames(environment: [:]))
        #expect(commandLine.hasPrefix("SHIPKEEP_SSH_KEY does not hold a private key (it looks like a public key)"))
        let action = TargetOptions.message(for: .publicKey(type: "ssh-ed25519"),
                                           names: SettingNames(environment: ["GITHUB_ACTIONS": "true",
                                                                             "SHIPKEEP_ACTION": "1"]))
        #expect(action.contains("input `ssh-key`"))
    }
}
