import Foundation

/// Private key text pasted into a CI secret or variable (`SHIPKEEP_SSH_KEY`), tidied of what copying and
/// pasting adds, and checked to be a private key before libssh2 sees it.
///
/// libssh2 answers a public key, or a private key whose lines carry a `\r` or trailing blanks, with a bare
/// `LIBSSH2_ERROR_PROTO` (-14); this says which it is, and repairs what can be repaired without guessing.
struct PastedKey {
    /// Why the text cannot be a private key.
    enum Problem: Equatable {
        /// A public key: an `ssh-ed25519 AAAA…` line (as in `.pub` files and authorized_keys) or a PEM or
        /// RFC 4716 public key block. `type` is its key type or block name.
        case publicKey(type: String)
        /// A PuTTY `.ppk` file, which needs converting.
        case puttyKey
        /// No `-----BEGIN … PRIVATE KEY-----` block at all.
        case notAKey
    }

    /// The text as libssh2 should read it: LF line ends, no blanks around lines or around the key, a final
    /// newline, and a key pasted as one line (newlines turned into spaces) put back on lines.
    let text: String

    /// What is wrong with the text, or nil when it holds a private key block.
    let problem: Problem?

    /// Tidies `raw` and checks what it holds.
    /// - Parameter raw: The text as it arrived.
    init(_ raw: String) {
        var body = raw.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        // A key stored with escaped newlines ("-----BEGIN…-----\nb3Bl…"): no base64 or PEM header has a backslash.
        if !body.contains("\n"), body.contains("\\n") { body = body.replacingOccurrences(of: "\\n", with: "\n") }
        var lines = body.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        while lines.first?.isEmpty == true { lines.removeFirst() }
        while lines.last?.isEmpty == true { lines.removeLast() }
        if lines.count == 1, let rewrapped = Self.rewrap(lines[0]) { lines = rewrapped }
        text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        problem = Self.problem(in: lines)
    }

    /// Key types that begin a public key line.
    private static let publicKeyPrefixes = ["ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-", "sk-ssh-ed25519",
                                            "sk-ecdsa-sha2-"]

    private static func problem(in lines: [String]) -> Problem? {
        if lines.contains(where: { $0.hasPrefix("-----BEGIN ") && $0.hasSuffix("PRIVATE KEY-----") }) { return nil }
        if let block = lines.first(where: { $0.hasPrefix("-----BEGIN ") && $0.hasSuffix("PUBLIC KEY-----") }) {
            return .publicKey(type: String(block.dropFirst(11).dropLast(5)))
        }
        if lines.first?.hasPrefix("PuTTY-User-Key-File-") == true { return .puttyKey }
        // An authorized_keys line may start with options (restrict,command="…"); the type is then a later field.
        let fields = (lines.first ?? "").split(separator: " ")
        if let type = fields.first(where: { field in publicKeyPrefixes.contains { field.hasPrefix($0) } }) {
            return .publicKey(type: String(type))
        }
        return .notAKey
    }

    /// A key block pasted on one line, newlines turned into spaces: the BEGIN line, the base64 body wrapped as
    /// ssh-keygen wraps it (libssh2 reads lines of limited length), and the END line. Only when the body is
    /// nothing but base64, so a PEM key with headers (`Proc-Type: …`) is never rearranged.
    private static func rewrap(_ line: String) -> [String]? {
        guard line.hasPrefix("-----BEGIN "), let headerEnd = line.dropFirst(11).range(of: "-----"),
              let footer = line.range(of: "-----END ", options: .backwards), footer.lowerBound > headerEnd.upperBound
        else { return nil }
        let header = String(line[..<headerEnd.upperBound])
        let body = line[headerEnd.upperBound..<footer.lowerBound].split(separator: " ").joined()
        let base64 = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        guard !body.isEmpty, body.allSatisfy(base64.contains) else { return nil }
        let width = header.contains("OPENSSH") ? 70 : 64
        var wrapped: [String] = [header]
        var rest = Substring(body)
        while !rest.isEmpty {
            wrapped.append(String(rest.prefix(width)))
            rest = rest.dropFirst(width)
        }
        wrapped.append(String(line[footer.lowerBound...]).trimmingCharacters(in: .whitespaces))
        return wrapped
    }
}
