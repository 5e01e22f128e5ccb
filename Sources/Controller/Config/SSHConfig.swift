import Foundation
import Platform

/// The settings shipkeep takes from OpenSSH's client configuration (`~/.ssh/config`), resolved for one host
/// the way `ssh` resolves them: blocks apply when a `Host` pattern matches the name given on the command
/// line, and for each keyword the first value obtained wins.
struct SSHConfig {
    /// The values that apply to one host.
    struct Resolved: Equatable {
        var hostName: String?
        var user: String?
        var port: Int?
        var identityFiles: [String] = []
        var userKnownHostsFiles: [String] = []
        var proxyJump: String?
        var strictHostKeyChecking: String?
        /// `IdentitiesOnly yes`: offer only the configured keys, not every key the ssh-agent holds.
        var identitiesOnly = false
    }

    private struct Block {
        var patterns: [String]  // nil-pattern block (before any Host) applies to all
        var options: [(keyword: String, value: String, line: Int)]
    }

    let file: String
    private var blocks: [Block] = []

    /// Parses `file` (and what it `Include`s). A missing file is an empty configuration.
    ///
    /// - Throws: ``ControllerError`` of kind `.usage` naming the file and line of a malformed entry.
    init(file: String, depth: Int = 0) throws(ControllerError) {
        self.file = file
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return }
        var current = Block(patterns: ["*"], options: [])
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let (keyword, value) = Self.split(line)
            guard !keyword.isEmpty, !value.isEmpty else {
                throw ControllerError(.usage, "\(file):\(index + 1): cannot read \"\(line)\"")
            }
            switch keyword {
            case "host":
                blocks.append(current)
                current = Block(patterns: Self.words(value), options: [])
            case "match":
                // Match criteria (exec, user, …) are not evaluated: such blocks are taken as not matching.
                blocks.append(current)
                current = Block(patterns: ["!*"], options: [])
            case "include":
                blocks.append(current)
                for pattern in Self.words(value) {
                    let path = pattern.hasPrefix("/") || pattern.hasPrefix("~") ? Self.expandTilde(pattern)
                        : (file as NSString).deletingLastPathComponent + "/" + pattern
                    for included in Self.glob(path) where depth < 8 {
                        let nested = try SSHConfig(file: included, depth: depth + 1)
                        // An Include inside a Host block applies only within it.
                        blocks += nested.blocks.map { block in
                            Block(patterns: current.patterns == ["*"] ? block.patterns : current.patterns,
                                  options: block.options)
                        }
                    }
                }
                current = Block(patterns: current.patterns, options: [])
            default:
                current.options.append((keyword, value, index + 1))
            }
        }
        blocks.append(current)
    }

    /// The settings for `host` as typed by the user (an alias or a name).
    func resolve(_ host: String, localUser: String) -> Resolved {
        var resolved = Resolved()
        var seen: Set<String> = []
        for block in blocks where Self.matches(host, block.patterns) {
            for option in block.options {
                let first = seen.insert(option.keyword).inserted
                switch option.keyword {
                case "hostname" where first: resolved.hostName = option.value.replacingOccurrences(of: "%h", with: host)
                case "user" where first: resolved.user = option.value
                case "port" where first: resolved.port = Int(option.value)
                case "identityfile":
                    resolved.identityFiles.append(Self.expand(option.value, host: host, user: localUser))
                case "userknownhostsfile" where first:
                    resolved.userKnownHostsFiles = Self.words(option.value).map { Self.expand($0, host: host, user: localUser) }
                case "proxyjump" where first: resolved.proxyJump = option.value == "none" ? nil : option.value
                case "stricthostkeychecking" where first: resolved.strictHostKeyChecking = option.value.lowercased()
                case "identitiesonly" where first: resolved.identitiesOnly = option.value.lowercased() == "yes"
                default: break
                }
            }
        }
        return resolved
    }

    /// Whether `host` matches a `Host` line's patterns: any positive pattern matches and no negated one does.
    static func matches(_ host: String, _ patterns: [String]) -> Bool {
        var matched = false
        for pattern in patterns {
            if pattern.hasPrefix("!") {
                if fnmatch(String(pattern.dropFirst()).lowercased(), host.lowercased(), 0) == 0 { return false }
            } else if fnmatch(pattern.lowercased(), host.lowercased(), 0) == 0 {
                matched = true
            }
        }
        return matched
    }

    /// `Keyword value`, `Keyword=value` or `Keyword = value`; keywords are case-insensitive.
    private static func split(_ line: String) -> (String, String) {
        guard let separator = line.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "=" }) else {
            return (line.lowercased(), "")
        }
        let keyword = line[..<separator].lowercased()
        var value = line[separator...].drop { $0 == " " || $0 == "\t" }
        if value.hasPrefix("=") { value = value.dropFirst().drop { $0 == " " || $0 == "\t" } }
        var text = String(value).trimmingCharacters(in: .whitespaces)
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
        return (keyword, text)
    }

    private static func words(_ value: String) -> [String] {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { String($0).trimmingCharacters(in: ["\""]) }
    }

    private static func expand(_ path: String, host: String, user: String) -> String {
        expandTilde(path).replacingOccurrences(of: "%d", with: NSHomeDirectory())
            .replacingOccurrences(of: "%h", with: host).replacingOccurrences(of: "%u", with: user)
            .replacingOccurrences(of: "%%", with: "%")
    }

    static func expandTilde(_ path: String) -> String {
        path == "~" ? NSHomeDirectory() : path.hasPrefix("~/") ? NSHomeDirectory() + path.dropFirst(1) : path
    }

    private static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Platform.glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }
    }
}
