/// One way to authenticate, tried in the order given.
///
/// Printing a credential (interpolation, `dump`, test failure output) shows only its label, never key
/// material or a passphrase.
enum SSHCredential {
    /// A private key file; the public key is derived from it. OpenSSH-format keys (ed25519, ecdsa, rsa) and
    /// PEM keys work, encrypted or not.
    case keyFile(path: String, passphrase: String?)
    /// Private key text held in memory (from `SHIPKEEP_SSH_KEY`); it is never written to disk.
    case keyText(String, passphrase: String?)
    /// An ssh-agent listening on this Unix socket (usually `SSH_AUTH_SOCK`).
    case agent(socketPath: String)

    /// How the credential is named in messages.
    var label: String {
        switch self {
        case .keyFile(let path, _):
            return "key file \(path)"
        case .keyText:
            return "key from SHIPKEEP_SSH_KEY"
        case .agent(let socketPath):
            return "ssh-agent at \(socketPath)"
        }
    }
}

extension SSHCredential: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The label; never the key or passphrase.
    var description: String { label }
    /// The label; never the key or passphrase.
    var debugDescription: String { "SSHCredential(\(label))" }
    /// No children, so `dump` and mirrors cannot reveal the key or passphrase.
    var customMirror: Mirror { Mirror(self, children: [:]) }
}
