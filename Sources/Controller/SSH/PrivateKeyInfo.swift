import Foundation

/// What a private key's headers say, read without decrypting it.
///
/// libssh2 reports a wrong passphrase, a missing one and an unsupported format with the same
/// `LIBSSH2_ERROR_FILE`, and a key the server refuses only as "not accepted"; this lets the message say
/// which case it is.
struct PrivateKeyInfo {
    /// Whether the key needs a passphrase.
    enum Encryption {
        /// Protected by a passphrase.
        case encrypted
        /// Readable without a passphrase.
        case unencrypted
        /// Not a format recognised here.
        case unknown
    }

    /// Whether the key needs a passphrase.
    let encryption: Encryption
    /// Whether it is an RSA key (which needs rsa-sha2 signatures with OpenSSH 8.8 and later).
    let isRSA: Bool

    /// Inspects key text (OpenSSH `openssh-key-v1` or PEM).
    /// - Parameter text: The private key file's contents.
    init(keyText text: String) {
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
            (encryption, isRSA) = Self.inspectOpenSSH(text)
        } else {
            isRSA = text.contains("-----BEGIN RSA PRIVATE KEY-----")
            if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED") {
                encryption = .encrypted
            } else {
                encryption = text.contains("PRIVATE KEY-----") ? .unencrypted : .unknown
            }
        }
    }

    /// The OpenSSH format starts, unencrypted, with the cipher name ("none" when there is no passphrase)
    /// and the public key, whose first field is the key type.
    private static func inspectOpenSSH(_ text: String) -> (Encryption, Bool) {
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body, options: .ignoreUnknownCharacters) else { return (.unknown, false) }
        var reader = SSHWireReader(bytes: [UInt8](data))
        guard reader.skip(Array("openssh-key-v1".utf8) + [0]), let cipher = reader.string() else {
            return (.unknown, false)
        }
        let encryption: Encryption = cipher == Array("none".utf8) ? .unencrypted : .encrypted
        // kdfname, kdfoptions, number of keys, then the first public key blob.
        guard reader.string() != nil, reader.string() != nil, reader.uint32() != nil, let blob = reader.string()
        else { return (encryption, false) }
        return (encryption, SSHHostKey.typeName(inBlob: blob) == "ssh-rsa")
    }
}

/// Reads the SSH wire encoding: big-endian uint32 and length-prefixed strings.
private struct SSHWireReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func skip(_ expected: [UInt8]) -> Bool {
        guard bytes.count - offset >= expected.count, Array(bytes[offset..<(offset + expected.count)]) == expected
        else { return false }
        offset += expected.count
        return true
    }

    mutating func uint32() -> Int? {
        guard bytes.count - offset >= 4 else { return nil }
        defer { offset += 4 }
        return bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
    }

    mutating func string() -> [UInt8]? {
        guard let length = uint32(), bytes.count - offset >= length else { return nil }
        defer { offset += length }
        return Array(bytes[offset..<(offset + length)])
    }
}
