import CLibSSH2
import Foundation

/// Decides whether the key a server offered during the handshake may be trusted.
///
/// It is created before the handshake (so known_hosts problems and malformed pins fail before anything is
/// exchanged, and so the handshake can ask for a key type the files know) and consulted right after it,
/// before any credential is sent.
struct HostKeyVerifier {
    private let host: String
    private let port: Int
    private let session: SSHSession
    private let files: [KnownHostsFile]
    private let pinnedFingerprint: String?

    /// Checks, before anything is sent over the network, that `policy` can verify a host at all: the
    /// known_hosts files exist and are readable, or the pin is a well-formed SHA256 fingerprint.
    /// - Parameters:
    ///   - policy: The policy to check.
    ///   - endpoint: `host:port`, for messages.
    /// - Throws: `SSHError` with `.hostKeyUnverifiable`.
    static func preflight(_ policy: HostKeyPolicy, endpoint: String) throws(SSHError) {
        switch policy {
        case .knownHosts(let paths):
            guard !paths.isEmpty else { throw noKnownHostsFile(endpoint: endpoint) }
            for path in paths {
                _ = try KnownHostsFile.read(path)
            }
        case .fingerprint(let pin):
            _ = try normalize(pin: pin)
        }
    }

    /// Loads the known_hosts files or validates the pinned fingerprint.
    /// - Parameters:
    ///   - policy: How to verify.
    ///   - host: The host exactly as connected to (it is what known_hosts entries name).
    ///   - port: The port connected to.
    ///   - session: The session being established.
    /// - Throws: `SSHError` with `.hostKeyUnverifiable` for a missing file, an empty list or a malformed pin.
    init(policy: HostKeyPolicy, host: String, port: Int, session: SSHSession) throws(SSHError) {
        self.host = host
        self.port = port
        self.session = session
        switch policy {
        case .knownHosts(let paths):
            guard !paths.isEmpty else { throw Self.noKnownHostsFile(endpoint: session.endpoint) }
            var files: [KnownHostsFile] = []
            for path in paths {
                files.append(try KnownHostsFile(path: path, session: session))
            }
            self.files = files
            self.pinnedFingerprint = nil
        case .fingerprint(let pin):
            self.files = []
            self.pinnedFingerprint = try Self.normalize(pin: pin)
        }
    }

    /// The host key algorithms to offer, with the types the known_hosts files list for this host first.
    var algorithmPreference: String {
        var known: [HostKeyType] = []
        for file in files {
            known += file.knownTypes(host: host, port: port).filter { !known.contains($0) }
        }
        return HostKeyType.algorithmPreference(preferring: known)
    }

    /// Checks the key the server offered in the handshake that just completed.
    /// - Returns: The verified key.
    /// - Throws: `SSHError` with `.hostKeyMismatch`, `.hostKeyUnknown` or `.hostKeyUnverifiable`; every
    ///   message names the offered key type and fingerprint.
    func verify() throws(SSHError) -> SSHHostKey {
        var length = 0
        var libssh2Type: Int32 = 0
        guard let pointer = libssh2_session_hostkey(session.raw, &length, &libssh2Type), length > 0 else {
            throw SSHError(
                .hostKeyUnverifiable,
                "\(session.endpoint) presented no host key; check that it is an SSH server",
                function: "libssh2_session_hostkey"
            )
        }
        let blob = Array(UnsafeRawBufferPointer(start: pointer, count: length))
        guard let digest = libssh2_hostkey_hash(session.raw, LIBSSH2_HOSTKEY_HASH_SHA256) else {
            throw SSHError(
                .hostKeyUnverifiable,
                "libssh2 cannot compute the SHA-256 fingerprint of the host key",
                function: "libssh2_hostkey_hash"
            )
        }
        let type = HostKeyType(libssh2Type: libssh2Type)
        let key = SSHHostKey(
            type: SSHHostKey.typeName(inBlob: blob) ?? type?.name ?? "unknown",
            fingerprint: SSHHostKey.fingerprint(sha256: Array(UnsafeRawBufferPointer(start: digest, count: 32)))
        )

        if let pinnedFingerprint {
            guard key.fingerprint == pinnedFingerprint else {
                throw SSHError(
                    .hostKeyMismatch,
                    "host key mismatch for \(knownHostsName): the server offered \(key.summary) but the pinned "
                        + "fingerprint is \(pinnedFingerprint); if the host was legitimately re-keyed, verify the new "
                        + "fingerprint out of band and update the pin"
                )
            }
            return key
        }
        try checkKnownHosts(key: key, blob: blob, type: type)
        return key
    }

    private func checkKnownHosts(key: SSHHostKey, blob: [UInt8], type: HostKeyType?) throws(SSHError) {
        let encoded = Data(blob).base64EncodedString()
        if let file = files.first(where: { $0.revokedKeys.contains(encoded) }) {
            throw SSHError(
                .hostKeyMismatch,
                "host key of \(knownHostsName) is marked @revoked in \(file.path): the server offered \(key.summary); "
                    + "do not connect until the host has a new key"
            )
        }
        guard let type else {
            throw SSHError(
                .hostKeyUnverifiable,
                "\(knownHostsName) offered a \(key.summary) host key, a type known_hosts cannot be checked for; "
                    + "pin its fingerprint with --fingerprint after verifying it out of band"
            )
        }
        var mismatched: KnownHostsFile?
        for file in files {
            switch try file.check(host: host, port: port, blob: blob, type: type) {
            case .match:
                return
            case .mismatch:
                mismatched = mismatched ?? file
            case .notFound:
                break
            }
        }
        if let mismatched {
            throw SSHError(
                .hostKeyMismatch,
                "host key mismatch for \(knownHostsName): the server offered \(key.summary) which does not match "
                    + "\(mismatched.path); if the host was legitimately re-keyed, remove the old entry (ssh-keygen -R "
                    + "'\(knownHostsName)' -f \(mismatched.path)) and add the new one"
            )
        }
        let paths = files.map(\.path).joined(separator: ", ")
        let otherTypes = Set(files.flatMap { $0.knownTypes(host: host, port: port) })
        var note = ""
        if !otherTypes.isEmpty {
            note = " which lists it only with \(otherTypes.map(\.name).sorted().joined(separator: ", ")) keys"
            if otherTypes == [.rsa] && !session.supportsRSASHA2 {
                note +=
                    " (this libssh2 verifies RSA host keys only with ssh-rsa signatures, which OpenSSH 8.8 and "
                    + "later no longer make; add the host's ed25519 key instead)"
            }
        }
        throw SSHError(
            .hostKeyUnknown,
            "host \(knownHostsName) is not in \(paths)\(note) (server offered \(key.summary)); verify that "
                + "fingerprint out of band, then add the host key to the file or pin it with --fingerprint"
        )
    }

    /// How known_hosts names this host: `host` on port 22, `[host]:port` otherwise.
    private var knownHostsName: String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    private static func noKnownHostsFile(endpoint: String) -> SSHError {
        SSHError(
            .hostKeyUnverifiable,
            "no known_hosts file was given, so the host key of \(endpoint) cannot be verified; pass a known_hosts "
                + "file or pin the fingerprint with --fingerprint"
        )
    }

    private static func normalize(pin: String) throws(SSHError) -> String {
        let trimmed = pin.trimmingCharacters(in: .whitespaces)
        var body = Substring(trimmed)
        if body.hasPrefix("SHA256:") {
            body = body.dropFirst("SHA256:".count)
        }
        while body.hasSuffix("=") {
            body = body.dropLast()
        }
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        guard trimmed.hasPrefix("SHA256:"), body.count == 43, body.allSatisfy(alphabet.contains) else {
            throw SSHError(
                .hostKeyUnverifiable,
                "pinned fingerprint '\(pin)' is not a SHA256 fingerprint; use the SHA256:… form that "
                    + "ssh-keygen -lf <host key>.pub prints"
            )
        }
        return "SHA256:" + body
    }
}
