import Foundation

/// An `authorized_keys` file's text with the deploy key's forced-command line put in: the one change `install`
/// makes to it. Every other line is kept byte for byte, in its place.
struct AuthorizedKeys {
    /// What ``adding(_:)`` did.
    enum Change: String, Encodable {
        /// The line was not there: appended.
        case added
        /// The same line was there already: nothing to write.
        case kept
        /// The key was there with other options (an older agent path, another forced command): that line was
        /// replaced in place, and any further line for the same key dropped.
        case updated
    }

    /// A refusal: the key is in the file without a forced command, so it may be someone's login key.
    struct Unrestricted: Error {
        var line: Int
    }

    let text: String

    /// The key type and base64 blob of an authorized_keys line, whatever options come before them; nil for
    /// comments, blank lines and lines without a key.
    static func key(of line: Substring) -> String? {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let first = words.first, !first.hasPrefix("#") else { return nil }
        for (index, word) in words.enumerated() where index + 1 < words.count && Self.isKeyType(word) {
            return "\(word) \(words[index + 1])"
        }
        return nil
    }

    private static func isKeyType(_ word: Substring) -> Bool {
        word.hasPrefix("ssh-") || word.hasPrefix("ecdsa-sha2-") || word.hasPrefix("sk-ssh-")
            || word.hasPrefix("sk-ecdsa-")
    }

    /// The text with `line` in it, and what changed.
    ///
    /// - Throws: ``Unrestricted`` when the same key is there without `command=`: replacing that line would take
    ///   a shell away from whoever logs in with it (perhaps the key `install` itself logged in with).
    func adding(_ line: String) throws(Unrestricted) -> (text: String, change: Change) {
        guard let key = Self.key(of: line[...]) else { return (text, .kept) }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var found: [Int] = []
        for (index, existing) in lines.enumerated() where Self.key(of: existing[...]) == key {
            guard existing.contains("command=") else { throw Unrestricted(line: index + 1) }
            found.append(index)
        }
        guard let first = found.first else {
            return ((lines + [line]).joined(separator: "\n") + "\n", .added)
        }
        if found.count == 1 && lines[first] == line { return (text, .kept) }
        lines[first] = line
        for index in found.dropFirst().reversed() { lines.remove(at: index) }
        return (lines.joined(separator: "\n") + "\n", .updated)
    }
}
