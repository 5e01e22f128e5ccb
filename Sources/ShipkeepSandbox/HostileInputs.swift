/// The one table of hostile paths and ids that every entry point taking a path or an id from outside is tested
/// against (agent.yml's data dirs, `restore --path`, `download`'s archive entries, snapshot ids, deploy ids): each
/// must be refused with a clear error, and nothing written.
public enum HostileInputs {
    /// A hostile spelling and what it tries.
    public struct Case: Sendable, CustomStringConvertible {
        /// The text.
        public var text: String
        /// What it is, for test names and messages.
        public var name: String
        /// What the refusal must mention (lower-cased), so that the error says which rule was broken.
        public var mentions: String

        /// The case's name.
        public var description: String { name }
    }

    /// Paths relative to a root that must not be used as given. A symbolic link on the way is the on-disk check,
    /// tested where the path resolves (restore).
    public static let paths: [Case] = [
        Case(text: "/etc/passwd", name: "absolute", mentions: "absolute"),
        Case(text: "../outside", name: "dot-dot", mentions: "\"..\""),
        Case(text: "a/../../b", name: "dot-dot inside", mentions: "\"..\""),
        Case(text: "./x", name: "dot component", mentions: "\".\""),
        Case(text: "", name: "empty", mentions: "empty"),
        Case(text: "a//b", name: "empty component", mentions: "empty component"),
        Case(text: "a\u{0}b", name: "NUL", mentions: "nul"),
        Case(text: String(repeating: "a/", count: 2500) + "b", name: "5000-byte path", mentions: "bytes long"),
        Case(text: "a/", name: "trailing slash", mentions: "ends with"),
    ]

    /// Ids (snapshot or deploy) that must not be joined to a directory.
    public static let ids: [Case] = [
        Case(text: "/etc", name: "absolute", mentions: "start with"),
        Case(text: "..", name: "dot-dot", mentions: "start with"),
        Case(text: "../x", name: "dot-dot path", mentions: "start with"),
        Case(text: "a/../../b", name: "dot-dot inside", mentions: "\"/\""),
        Case(text: "./x", name: "dot component", mentions: "start with"),
        Case(text: "", name: "empty", mentions: "empty"),
        Case(text: "a//b", name: "slashes", mentions: "\"/\""),
        Case(text: "d-a\u{0}b", name: "NUL", mentions: "0x0"),
        Case(text: "d-" + String(repeating: "a", count: 4998), name: "5000-byte id", mentions: "bytes long"),
        Case(text: "d-a/", name: "trailing slash", mentions: "\"/\""),
        Case(text: ".hidden", name: "hidden name", mentions: "start with"),
        Case(text: "-rf", name: "option", mentions: "start with"),
    ]
}
