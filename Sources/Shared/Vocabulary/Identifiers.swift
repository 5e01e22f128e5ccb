/// The id of a snapshot: its directory name in the snapshot dir, as `shipkeep snapshots` lists it
/// (`20261125T101500Z-3f2c1e0b`, `20261125T101500Z-3f2c1e0b-2`), or ``latestName`` where a request may name the
/// newest one. The one check of a snapshot id that comes from the wire or the command line.
///
/// The rule: 1 to ``maxBytes`` ASCII letters, digits, `-`, `_` and `.`, starting with a letter or a digit (so never
/// `.`, `..`, a hidden name or an option), no `/`; it becomes a path component under the snapshot dir.
public struct SnapshotID: Hashable, Sendable, CustomStringConvertible {
    /// The id as given.
    public let string: String

    /// The longest id accepted (generated ids are 16 to 30 bytes).
    public static let maxBytes = 128
    /// What `--snapshot` takes for the newest complete snapshot.
    public static let latestName = "latest"

    /// Checks `text`.
    ///
    /// - Parameter allowingLatest: whether `latest` may stand for the newest snapshot (restore, download).
    /// - Throws: ``InvalidInput`` (code `invalid_snapshot`).
    public init(validating text: String, allowingLatest: Bool = false) throws(InvalidInput) {
        let expected = "a snapshot id (see `shipkeep snapshots`)" + (allowingLatest ? " or latest" : "")
        if let reason = Identifiers.problem(text, maxBytes: Self.maxBytes, allowed: "-_.") {
            throw InvalidInput(code: .invalidSnapshot, text: text, reason: reason, expected: expected)
        }
        if text == Self.latestName && !allowingLatest {
            throw InvalidInput(code: .invalidSnapshot, text: text, reason: "name the snapshot's id here",
                               expected: expected)
        }
        string = text
    }

    /// Whether this names the newest snapshot rather than one id.
    public var isLatest: Bool { string == Self.latestName }

    /// The id itself.
    public var description: String { string }
}

/// The id of a deploy (`d-20261125T101500Z-7f3a`), as `started` reports it and `attach --deploy`, the worker and
/// the state dir's file names take it; or the name another locked action holds the app's lock under
/// (`restore-<snapshot>`, `restart-<time>`, `stop-…`, `start-…`), which `unlock --deploy` may name too. The one
/// check of a deploy id that comes from the wire or the command line.
///
/// The rule: one of those prefixes, then ASCII letters, digits and `-`, at most ``maxBytes`` bytes in all.
public struct DeployID: Hashable, Sendable, CustomStringConvertible {
    /// The id as given.
    public let string: String

    /// The longest id accepted.
    public static let maxBytes = 64
    /// What a deploy's (rollback's, snapshot's) id starts with: it has a journal, a plan and a request file.
    public static let deployPrefix = "d-"
    /// The prefixes of the lock holders that are not deploys.
    public static let holderPrefixes = ["restore-", "restart-", "stop-", "start-"]

    /// Checks `text`.
    ///
    /// - Parameter deployOnly: whether only a deploy's id (`d-…`) is accepted (attach, the worker).
    /// - Throws: ``InvalidInput`` (code `invalid_deploy`).
    public init(validating text: String, deployOnly: Bool = true) throws(InvalidInput) {
        let expected = "a deploy id (d-…, as `shipkeep history` shows it)"
        if let reason = Identifiers.problem(text, maxBytes: Self.maxBytes, allowed: "-") {
            throw InvalidInput(code: .invalidDeploy, text: text, reason: reason, expected: expected)
        }
        let prefixes = [Self.deployPrefix] + (deployOnly ? [] : Self.holderPrefixes)
        guard let prefix = prefixes.first(where: text.hasPrefix), text.utf8.count > prefix.utf8.count else {
            let starts = prefixes.map { "\"\($0)\"" }.joined(separator: " or ")
            throw InvalidInput(code: .invalidDeploy, text: text, reason: "it does not start with " + starts,
                               expected: expected)
        }
        string = text
    }

    /// Whether `text` is a deploy's id (`d-…`).
    public static func isValid(_ text: String) -> Bool { (try? DeployID(validating: text)) != nil }

    /// Whether this is a deploy's id (`d-…`) rather than another lock holder's name.
    public var isDeploy: Bool { string.hasPrefix(Self.deployPrefix) }

    /// The id itself.
    public var description: String { string }
}

/// The character rule both ids share.
enum Identifiers {
    /// Why `text` is not 1…`maxBytes` ASCII letters, digits and `allowed`, starting with a letter or digit.
    static func problem(_ text: String, maxBytes: Int, allowed: String) -> String? {
        let bytes = text.utf8
        if bytes.isEmpty { return "it is empty" }
        if bytes.count > maxBytes { return "it is \(bytes.count) bytes long (at most \(maxBytes))" }
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard let first = bytes.first, isAlphanumeric(first) else {
            return "it must start with a letter or a digit"
        }
        let extra = Set(allowed.utf8)
        if let bad = bytes.first(where: { !isAlphanumeric($0) && !extra.contains($0) }) {
            let shown = (0x20..<0x7F).contains(bad)
                ? "\"\(Character(Unicode.Scalar(bad)))\"" : "the byte 0x\(String(bad, radix: 16))"
            let extras = allowed.map { "\"\($0)\"" }.joined(separator: " ")
            return "it contains \(shown) (only ASCII letters, digits and \(extras) are allowed)"
        }
        return nil
    }
}
