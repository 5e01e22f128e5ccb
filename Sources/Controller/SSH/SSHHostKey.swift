import CLibSSH2
import Foundation

/// The host key the server proved it holds during the handshake.
struct SSHHostKey: Sendable, Hashable {
    /// The key type as OpenSSH names it: `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, …
    let type: String
    /// `SHA256:` + base64 without padding of the SHA-256 of the key blob, as `ssh-keygen -lf` prints it.
    let fingerprint: String

    /// "ssh-ed25519 SHA256:…", for messages.
    var summary: String { "\(type) \(fingerprint)" }

    /// Formats a SHA-256 digest the way OpenSSH does.
    /// - Parameter digest: The 32 raw digest bytes.
    /// - Returns: `SHA256:` followed by unpadded base64.
    static func fingerprint(sha256 digest: [UInt8]) -> String {
        var encoded = Data(digest).base64EncodedString()
        while encoded.hasSuffix("=") {
            encoded.removeLast()
        }
        return "SHA256:" + encoded
    }

    /// The key type named inside an SSH public key blob (its first length-prefixed string).
    /// - Parameter blob: The raw public key blob.
    /// - Returns: The name, or `nil` if the blob is malformed.
    static func typeName(inBlob blob: [UInt8]) -> String? {
        guard blob.count >= 4 else { return nil }
        let length = blob[0..<4].reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, length <= 64, blob.count >= 4 + length else { return nil }
        let name = blob[4..<(4 + length)]
        guard name.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return String(decoding: name, as: UTF8.self)
    }
}

/// The host key types the client accepts, in OpenSSH's order of preference.
///
/// DSA is left out on purpose: OpenSSH dropped it and a host offering only DSA should fail the handshake.
enum HostKeyType: CaseIterable {
    /// `ssh-ed25519`.
    case ed25519
    /// `ecdsa-sha2-nistp256`.
    case ecdsa256
    /// `ecdsa-sha2-nistp384`.
    case ecdsa384
    /// `ecdsa-sha2-nistp521`.
    case ecdsa521
    /// `ssh-rsa`, verified with rsa-sha2-512, rsa-sha2-256 or ssh-rsa signatures.
    case rsa

    /// Maps `libssh2_session_hostkey`'s type.
    /// - Parameter libssh2Type: A `LIBSSH2_HOSTKEY_TYPE_*` value.
    init?(libssh2Type: Int32) {
        switch libssh2Type {
        case LIBSSH2_HOSTKEY_TYPE_ED25519: self = .ed25519
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: self = .ecdsa256
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: self = .ecdsa384
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: self = .ecdsa521
        case LIBSSH2_HOSTKEY_TYPE_RSA: self = .rsa
        default: return nil
        }
    }

    /// The key type name in known_hosts files and key blobs.
    var name: String {
        switch self {
        case .ed25519: return "ssh-ed25519"
        case .ecdsa256: return "ecdsa-sha2-nistp256"
        case .ecdsa384: return "ecdsa-sha2-nistp384"
        case .ecdsa521: return "ecdsa-sha2-nistp521"
        case .rsa: return "ssh-rsa"
        }
    }

    /// The `LIBSSH2_KNOWNHOST_KEY_*` bit for `libssh2_knownhost_checkp`.
    var knownHostMask: Int32 {
        switch self {
        case .ed25519: return LIBSSH2_KNOWNHOST_KEY_ED25519
        case .ecdsa256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256
        case .ecdsa384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384
        case .ecdsa521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521
        case .rsa: return LIBSSH2_KNOWNHOST_KEY_SSHRSA
        }
    }

    /// The host key algorithms that produce this key type, for `libssh2_session_method_pref`.
    var algorithms: [String] {
        switch self {
        case .rsa: return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
        default: return [name]
        }
    }

    /// The host key algorithm list with `preferred` types first, then the rest in the default order.
    /// libssh2 1.10 on its own prefers ECDSA, so a host known (or pinned) by its ed25519 key would look
    /// unknown whenever the server also has an ECDSA key.
    /// - Parameter preferred: Types to move to the front, in order.
    /// - Returns: A comma-separated algorithm list.
    static func algorithmPreference(preferring preferred: [HostKeyType]) -> String {
        let ordered = preferred + allCases.filter { !preferred.contains($0) }
        return ordered.flatMap(\.algorithms).joined(separator: ",")
    }
}
