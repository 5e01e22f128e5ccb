import CLibSSH2
import Foundation

/// One OpenSSH known_hosts file, loaded into a `LIBSSH2_KNOWNHOSTS` collection that this object owns.
///
/// The file is fed to libssh2 line by line rather than with `libssh2_knownhost_readfile`, which gives up
/// on the first line it cannot parse: a comment, a marker, or a key type libssh2 does not know must not
/// make every other entry invisible.
final class KnownHostsFile {
    /// How the offered key relates to the entries of the file.
    enum Match {
        /// An entry for the host has exactly this key.
        case match
        /// The host is listed with this key type but a different key.
        case mismatch
        /// No entry for the host with this key type.
        case notFound
    }

    /// The file's path, for messages.
    let path: String
    /// Base64 key blobs of `@revoked` lines; such keys are refused for every host.
    private(set) var revokedKeys: Set<String> = []
    /// Lines that were neither blank, comments, `@revoked`, nor understood by libssh2.
    private(set) var skippedLines = 0
    private let raw: OpaquePointer
    private let session: SSHSession

    /// Loads the file.
    /// - Parameters:
    ///   - path: The known_hosts file.
    ///   - session: The session whose allocator libssh2 uses; kept alive while this object exists.
    /// - Throws: `SSHError` with `.hostKeyUnverifiable` if the file is missing or unreadable.
    init(path: String, session: SSHSession) throws(SSHError) {
        let contents = try Self.read(path)
        self.path = path
        self.session = session
        self.raw = try session.check(
            handle: libssh2_knownhost_init(session.raw),
            "libssh2_knownhost_init",
            .hostKeyUnverifiable,
            what: "loading \(path)",
            hint: ""
        )
        for line in String(decoding: contents, as: UTF8.self).split(whereSeparator: \.isNewline) {
            load(line.trimmingCharacters(in: .whitespaces))
        }
    }

    deinit {
        libssh2_knownhost_free(raw)
    }

    /// Reads a known_hosts file.
    /// - Parameter path: The file.
    /// - Returns: Its contents.
    /// - Throws: `SSHError` with `.hostKeyUnverifiable` if it is missing or unreadable.
    static func read(_ path: String) throws(SSHError) -> Data {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SSHError(
                .hostKeyUnverifiable,
                "known_hosts file \(path) does not exist; add the host's key to it (for example with ssh-keyscan, "
                    + "after checking the fingerprint out of band) or pin the fingerprint with --fingerprint"
            )
        }
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw SSHError(.hostKeyUnverifiable, "cannot read known_hosts file \(path); check its permissions")
        }
        return contents
    }

    /// Looks the host up the way `ssh` does for this port: `[host]:port` entries first, then plain `host`
    /// entries (libssh2 falls back to those for any port), hashed or not.
    /// - Parameters:
    ///   - host: The host name or address exactly as connected to.
    ///   - port: The port connected to.
    ///   - blob: The raw public key blob the server offered.
    ///   - type: Its type; only entries of the same type are compared.
    /// - Returns: Whether the file has the key, a different key, or nothing for the host.
    /// - Throws: `SSHError` with `.hostKeyUnverifiable` if libssh2 cannot perform the check.
    func check(host: String, port: Int, blob: [UInt8], type: HostKeyType) throws(SSHError) -> Match {
        let mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | type.knownHostMask
        let result = host.withCString { name in
            blob.withUnsafeBytes { key in
                libssh2_knownhost_checkp(
                    raw,
                    name,
                    Int32(port),
                    key.baseAddress?.assumingMemoryBound(to: CChar.self),
                    key.count,
                    mask,
                    nil
                )
            }
        }
        switch result {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return .match
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            return .mismatch
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
            return .notFound
        default:
            throw SSHError(
                .hostKeyUnverifiable,
                "libssh2 could not check the host key against \(path); pin the fingerprint instead",
                libssh2Code: result,
                function: "libssh2_knownhost_checkp"
            )
        }
    }

    /// The key types this file lists for the host, so the handshake can ask for one of them.
    ///
    /// libssh2 has no lookup by host alone (hashed entries cannot be enumerated), so each type is probed
    /// with a key that matches nothing: a mismatch means the host has an entry of that type.
    /// - Parameters:
    ///   - host: The host name or address exactly as connected to.
    ///   - port: The port connected to.
    /// - Returns: The types with an entry, in preference order.
    func knownTypes(host: String, port: Int) -> [HostKeyType] {
        HostKeyType.allCases.filter { type in
            (try? check(host: host, port: port, blob: [0], type: type)) == .mismatch
        }
    }

    private func load(_ line: String) {
        if line.isEmpty || line.hasPrefix("#") {
            return
        }
        if line.hasPrefix("@") {
            // libssh2 understands no markers. A revoked key is honoured here; anything else (such as
            // @cert-authority) cannot verify a plain host key and is skipped.
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.first == "@revoked", fields.count >= 4 {
                revokedKeys.insert(String(fields[3]))
            } else {
                skippedLines += 1
            }
            return
        }
        let result = line.withCString { text in
            libssh2_knownhost_readline(raw, text, line.utf8.count, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
        }
        do {
            _ = try session.check(result, "libssh2_knownhost_readline", .hostKeyUnverifiable, what: path, hint: "")
        } catch {
            skippedLines += 1
        }
    }
}
