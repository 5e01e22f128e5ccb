/// One entry of a downloaded snapshot's manifest: what the archive must hold at `path`, and nothing else.
public struct ArchiveEntry: Codable, Equatable, Sendable {
    /// What kind of entry it is.
    public enum Kind: String, Codable, Sendable {
        case file, directory, symlink
    }

    /// The path relative to the app's work tree, e.g. `logs/bot.log`; the same path in the archive.
    public var path: String
    /// What kind of entry it is.
    public var kind: Kind
    /// Bytes (files).
    public var size: Int64?
    /// `xxh64:…` of the content (files).
    public var hash: String?
    /// Where a symbolic link points.
    public var target: String?

    /// Creates an entry.
    public init(path: String, kind: Kind, size: Int64? = nil, hash: String? = nil, target: String? = nil) {
        self.path = path
        self.kind = kind
        self.size = size
        self.hash = hash
        self.target = target
    }
}
