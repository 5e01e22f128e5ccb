/// A path relative to some root (the work tree, a snapshot, an archive) that cannot leave it by its spelling: the
/// one check of every relative path that comes from outside — agent.yml's data dirs and `health.fresh.path`,
/// `restore --path`, the entries of a snapshot's manifest (written to disk by restore and verify, exported by
/// `download`), and the archive entries the controller verifies before it keeps a download.
///
/// The rule: not empty; not absolute; no empty component (`a//b`, a trailing `/`); no `.` or `..` component; no NUL;
/// at most ``maxBytes`` bytes and ``maxComponentBytes`` per component (PATH_MAX and NAME_MAX on Linux). Nothing
/// is normalized: `./logs` and `logs/` are refused with the plain spelling to write instead, so that the path
/// checked is the path used, byte for byte. Symbolic links are the caller's second check, on disk
/// (`FileSystem.symlinkOnTheWay` on the VM, the archive's own links in `ArchiveVerifier`).
public struct RelativePath: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The path, exactly as given (it passed the rule).
    public let string: String

    /// Linux's PATH_MAX less the terminating NUL.
    public static let maxBytes = 4095
    /// Linux's NAME_MAX.
    public static let maxComponentBytes = 255

    /// Checks `text` against the rule.
    ///
    /// - Parameter expected: what the message says the path should be.
    /// - Throws: ``InvalidInput`` (code `invalid_path`) naming the rule broken.
    public init(validating text: String, expected: String = "a plain path relative to the work tree")
        throws(InvalidInput) {
        if let reason = Self.problem(text) {
            throw InvalidInput(code: .invalidPath, text: text, reason: reason, expected: expected)
        }
        string = text
    }

    /// Whether `text` passes the rule.
    public static func isValid(_ text: String) -> Bool { problem(text) == nil }

    /// Why `text` breaks the rule (with the spelling to use instead when there is one), or nil.
    public static func problem(_ text: String) -> String? {
        // One pass over the bytes answers for the paths that pass (a manifest holds thousands); only a path that
        // breaks the rule is taken apart to say how.
        if passes(text) { return nil }
        return brokenRule(text)
    }

    /// The rule, in one pass over the bytes: whether `text` passes it.
    static func passes(_ text: String) -> Bool {
        var total = 0, component = 0, dots = 0
        for byte in text.utf8 {
            total += 1
            if byte == UInt8(ascii: "/") {
                // An empty, `.` or `..` component (a leading `/` is an empty first one).
                if component == 0 || component == dots && dots <= 2 { return false }
                component = 0
                dots = 0
            } else {
                if byte == 0 { return false }
                component += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
                if component > maxComponentBytes { return false }
            }
        }
        return total > 0 && total <= maxBytes && component > 0 && !(component == dots && dots <= 2)
    }

    /// Why `text` breaks the rule, or nil: the rule taken apart, for the message.
    static func brokenRule(_ text: String) -> String? {
        let bytes = text.utf8
        if bytes.isEmpty { return "it is empty" }
        if bytes.contains(0) { return "it contains a NUL byte" }
        if bytes.count > maxBytes { return "it is \(bytes.count) bytes long (at most \(maxBytes))" }
        if bytes.first == UInt8(ascii: "/") { return "it is absolute (give it relative to the work tree)" }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains("..") { return "it has a \"..\" component" }
        let plain = parts.filter { !$0.isEmpty && $0 != "." }.joined(separator: "/")
        let instead = plain.isEmpty ? "" : " (write \(InvalidInput.quoted(plain)))"
        if parts.contains(".") { return "it has a \".\" component" + instead }
        if bytes.last == UInt8(ascii: "/") { return "it ends with \"/\"" + instead }
        if parts.contains("") { return "it has an empty component (\"//\")" + instead }
        if let long = parts.first(where: { $0.utf8.count > maxComponentBytes }) {
            return "a component is \(long.utf8.count) bytes long (at most \(maxComponentBytes))"
        }
        return nil
    }

    /// The components, in order (none is empty, `.` or `..`).
    public var components: [Substring] { string.split(separator: "/") }

    /// Whether `other` is this path or lies below it.
    public func contains(_ other: RelativePath) -> Bool {
        other.string == string || other.string.hasPrefix(string + "/")
    }

    /// `base/path`.
    public func appended(to base: String) -> String {
        base.hasSuffix("/") ? base + string : base + "/" + string
    }

    /// The path itself.
    public var description: String { string }

    /// Orders by the path's bytes.
    public static func < (lhs: RelativePath, rhs: RelativePath) -> Bool { lhs.string < rhs.string }
}
