import CLibSSH2
import Foundation

/// Tries each credential in order until the server accepts one.
///
/// Failures of one credential (rejected key, undecryptable key file, unreachable agent) are collected and
/// the next one is tried; a broken connection or the deadline ends the whole attempt. Messages name what
/// was tried (paths, agent socket, key count) and never contain key material or passphrases.
struct SSHAuthenticator {
    /// The session, host key already verified.
    let session: SSHSession
    /// The remote user.
    let user: String
    /// Shared with the TCP connect and the handshake.
    let deadline: Deadline

    /// Authenticates with the first credential the server accepts.
    /// - Parameter credentials: Credentials in the order to try them.
    /// - Throws: `SSHError` with `.authentication` listing every attempt, or `.timeout`.
    func authenticate(with credentials: [SSHCredential]) throws(SSHError) {
        guard !credentials.isEmpty else {
            throw SSHError(
                .authentication,
                "no credentials to authenticate as \(user) on \(session.endpoint); pass --identity, set "
                    + "SHIPKEEP_SSH_KEY or start ssh-agent"
            )
        }
        var attempts: [String] = []
        for credential in credentials {
            let outcome: String
            do {
                switch credential {
                case .keyFile(let path, let passphrase):
                    try authenticate(keyFile: path, passphrase: passphrase)
                    return
                case .keyText(let text, let passphrase):
                    try authenticate(keyText: text, passphrase: passphrase)
                    return
                case .agent(let socketPath):
                    if try authenticate(agentAt: socketPath, attempts: &attempts) {
                        return
                    }
                    continue
                }
            } catch {
                if endsAuthentication(error) {
                    let tried = attempts.isEmpty ? "" : " after trying \(attempts.joined(separator: ", "))"
                    let advice =
                        error.code == .timeout
                        ? "raise the connect timeout if the server is slow"
                        : "the server may allow fewer attempts (MaxAuthTries) than keys offered; offer fewer keys"
                    throw SSHError(
                        error.code == .timeout ? .timeout : .authentication,
                        "authentication as \(user) on \(session.endpoint) stopped at \(credential.label)\(tried): "
                            + "\(error.message); \(advice)",
                        libssh2Code: error.libssh2Code,
                        function: error.function
                    )
                }
                outcome = reason(for: error, credential: credential)
            }
            attempts.append("\(credential.label) (\(outcome))")
        }
        throw SSHError(
            .authentication,
            "authentication as \(user) on \(session.endpoint) failed; tried: \(attempts.joined(separator: ", ")); "
                + "add the public key to the authorized_keys of \(user) on the host, or check the user name"
        )
    }

    private func authenticate(keyFile path: String, passphrase: String?) throws(SSHError) {
        try session.call(
            "libssh2_userauth_publickey_fromfile_ex",
            .authentication,
            what: "key file \(path)",
            hint: "",
            until: deadline
        ) {
            user.withCString { name in
                path.withCString { privateKey in
                    Self.withOptionalCString(passphrase) { secret in
                        // NULL public key: libssh2 derives it from the private key, so no .pub file is needed.
                        libssh2_userauth_publickey_fromfile_ex(
                            session.raw,
                            name,
                            UInt32(user.utf8.count),
                            nil,
                            privateKey,
                            secret
                        )
                    }
                }
            }
        }
    }

    private func authenticate(keyText text: String, passphrase: String?) throws(SSHError) {
        try session.call(
            "libssh2_userauth_publickey_frommemory",
            .authentication,
            what: "key from SHIPKEEP_SSH_KEY",
            hint: "",
            until: deadline
        ) {
            user.withCString { name in
                text.withCString { key in
                    Self.withOptionalCString(passphrase) { secret in
                        // No public key data: libssh2 derives it from the private key, in memory.
                        libssh2_userauth_publickey_frommemory(
                            session.raw,
                            name,
                            user.utf8.count,
                            nil,
                            0,
                            key,
                            text.utf8.count,
                            secret
                        )
                    }
                }
            }
        }
    }

    /// Offers every key of the agent in turn.
    /// - Returns: Whether one was accepted; otherwise the outcome is appended to `attempts`.
    private func authenticate(agentAt socketPath: String, attempts: inout [String]) throws(SSHError) -> Bool {
        let label = SSHCredential.agent(socketPath: socketPath).label
        guard !socketPath.isEmpty else {
            attempts.append("ssh-agent (no socket: SSH_AUTH_SOCK is not set)")
            return false
        }
        let agent: AgentClient
        let identities: [UnsafeMutablePointer<libssh2_agent_publickey>]
        do {
            agent = try AgentClient(session: session, socketPath: socketPath)
            identities = try agent.identities(until: deadline)
        } catch {
            if error.code == .timeout {
                throw error
            }
            attempts.append("\(label) (cannot be reached: is the agent running?)")
            return false
        }
        for identity in identities {
            do {
                try agent.authenticate(user: user, identity: identity, until: deadline)
                return true
            } catch {
                if endsAuthentication(error) {
                    throw error
                }
            }
        }
        let count = identities.count == 1 ? "1 key" : "\(identities.count) keys"
        let hasRSA = identities.contains {
            SSHHostKey.typeName(inBlob: Array(UnsafeBufferPointer(start: $0.pointee.blob, count: $0.pointee.blob_len)))
                == "ssh-rsa"
        }
        let note = hasRSA && !session.supportsRSASHA2 ? "; \(Self.rsaAdvice)" : ""
        attempts.append("\(label) (\(count), none accepted\(note))")
        return false
    }

    /// Why one credential failed, in words that point at the fix.
    private func reason(for error: SSHError, credential: SSHCredential) -> String {
        let key: PrivateKeyInfo
        let passphrase: String?
        switch credential {
        case .keyFile(let path, let secret):
            guard FileManager.default.fileExists(atPath: path) else { return "does not exist" }
            guard let data = FileManager.default.contents(atPath: path) else { return "cannot be read" }
            key = PrivateKeyInfo(keyText: String(decoding: data, as: UTF8.self))
            passphrase = secret
        case .keyText(let text, let secret):
            key = PrivateKeyInfo(keyText: text)
            passphrase = secret
        case .agent:
            return "failed"
        }
        switch error.libssh2Code {
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
            return key.isRSA && !session.supportsRSASHA2
                ? "not accepted by the server; \(Self.rsaAdvice)" : "not accepted by the server"
        // A key in memory that libssh2 cannot parse (a stray character in it) comes back as a protocol error.
        case LIBSSH2_ERROR_PROTO where { if case .keyText = credential { true } else { false } }(),
            LIBSSH2_ERROR_FILE, LIBSSH2_ERROR_KEYFILE_AUTH_FAILED, LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
            switch key.encryption {
            case .encrypted where passphrase == nil:
                return "is passphrase-protected and no passphrase was given"
            case .encrypted:
                return "could not be decrypted: wrong passphrase"
            case .unencrypted, .unknown:
                return "could not be loaded: not a private key, or a format libssh2 does not support"
            }
        default:
            return "failed: libssh2 error \(error.libssh2Code.map(String.init) ?? "?")"
        }
    }

    /// Why RSA keys fail with a libssh2 that predates rsa-sha2 (1.10 and older).
    private static let rsaAdvice =
        "RSA keys need rsa-sha2 signatures, which this libssh2 cannot make (OpenSSH 8.8 and later refuse the "
        + "SHA-1 ssh-rsa ones); use an ed25519 key"

    /// Whether a failure ends authentication altogether rather than only this credential. libssh2 reports a
    /// server that hung up mid-authentication as a rejected key; the recorded disconnect tells them apart.
    private func endsAuthentication(_ error: SSHError) -> Bool {
        if error.code == .timeout || session.serverDisconnectMessage != nil {
            return true
        }
        switch error.libssh2Code {
        case LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT,
            LIBSSH2_ERROR_BAD_SOCKET:
            return true
        default:
            return false
        }
    }

    /// Calls `body` with a C string for `text`, or with NULL when it is nil.
    private static func withOptionalCString<Result>(
        _ text: String?,
        _ body: (UnsafePointer<CChar>?) -> Result
    ) -> Result {
        guard let text else { return body(nil) }
        return text.withCString { body($0) }
    }
}
