/// Why a path or an id from outside (agent.yml, a request, the command line, an archive) was refused: one line
/// that names the text (made inert and cut short) and the rule it broke, and the ``ErrorCode`` a `result` carries.
public struct InvalidInput: Error, Equatable, Sendable, CustomStringConvertible {
    /// `invalid_path`, `invalid_snapshot` or `invalid_deploy`.
    public var code: ErrorCode
    /// The text as given.
    public var text: String
    /// What is wrong with it, e.g. `it has a ".." component`.
    public var reason: String
    /// What it should be, e.g. `a path relative to the work tree`.
    public var expected: String

    /// Creates a refusal.
    public init(code: ErrorCode, text: String, reason: String, expected: String) {
        self.code = code
        self.text = text
        self.reason = reason
        self.expected = expected
    }

    /// `"a/../b" is not a path relative to the work tree: it has a ".." component`.
    public var description: String { "\(Self.quoted(text)) is not \(expected): \(reason)" }

    /// `text` quoted for a message: control characters made visible, at most 80 characters shown.
    public static func quoted(_ text: String) -> String {
        let shown = text.count > 80 ? String(text.prefix(60)) + "… (\(text.utf8.count) bytes)" : text
        return "\"" + ControlCharacters.escaped(shown) + "\""
    }
}
