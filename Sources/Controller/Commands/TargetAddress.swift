/// A target as written on the command line: `host`, `user@host`, `host:port`, `[v6]:port`, a bare IPv6
/// literal, or `ssh://user@host:port`.
struct TargetAddress: Equatable {
    var user: String?
    var host: String?
    var port: Int?

    /// Parses a target.
    ///
    /// - Throws: ``ControllerError`` of kind `.usage` for a malformed target.
    static func parse(_ text: String) throws(ControllerError) -> TargetAddress {
        var rest = Substring(text)
        if rest.hasPrefix("ssh://") { rest = rest.dropFirst(6) }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var address = TargetAddress()
        if let at = rest.lastIndex(of: "@") {
            address.user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw ControllerError(.usage, "target \"\(text)\": missing \"]\" after the IPv6 address")
            }
            address.host = String(rest[rest.index(after: rest.startIndex)..<close])
            let tail = rest[rest.index(after: close)...]
            if !tail.isEmpty {
                guard tail.hasPrefix(":"), let port = Int(tail.dropFirst()) else {
                    throw ControllerError(.usage, "target \"\(text)\": expected \":PORT\" after \"]\"")
                }
                address.port = port
            }
        } else if rest.filter({ $0 == ":" }).count == 1, let colon = rest.firstIndex(of: ":") {
            guard let port = Int(rest[rest.index(after: colon)...]) else {
                throw ControllerError(.usage, "target \"\(text)\": \"\(rest[rest.index(after: colon)...])\" is not a port")
            }
            address.host = String(rest[..<colon])
            address.port = port
        } else {
            address.host = String(rest)
        }
        if address.user?.isEmpty == true || address.host?.isEmpty == true || address.host?.hasPrefix("-") == true {
            throw ControllerError(.usage, "target \"\(text)\" is not USER@HOST[:PORT]")
        }
        return address
    }
}

/// Quoting for the one string an SSH exec request carries. Each argument becomes a single-quoted word, so
/// nothing in it is interpreted by the remote shell.
enum ShellQuote {
    /// `it's` → `'it'\''s'`.
    static func quote(_ argument: String) -> String {
        "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension ShellQuote {
    /// `word` as a shell reads it back unchanged, for a command printed to be pasted: as it is when it has
    /// nothing a shell would interpret (`prod`, `--deploy`, `/home/me/shipkeep.yml`), else single-quoted.
    static func word(_ word: String) -> String {
        let plain = !word.isEmpty && !word.hasPrefix("~") && word.unicodeScalars.allSatisfy { scalar in
            switch scalar.value {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true  // 0-9 A-Z a-z
            default: "@%+=:,./_-".unicodeScalars.contains(scalar)
            }
        }
        return plain ? word : quote(word)
    }
}
