/// One member of a tar archive, as the writer takes it and the reader returns it.
public struct TarEntry: Equatable, Sendable {
    /// The member types snapshot archives hold.
    public enum Kind: Equatable, Sendable {
        case file, directory, symlink
    }

    /// The path inside the archive, relative, without a trailing `/` (the writer adds it for directories).
    public var path: String
    /// What the member is.
    public var kind: Kind
    /// Content bytes (files; 0 otherwise).
    public var size: Int64
    /// Permission bits.
    public var mode: UInt32
    /// Modification time, seconds since the epoch.
    public var mtime: Int64
    /// Where a symbolic link points.
    public var linkTarget: String?

    /// Creates an entry.
    public init(path: String, kind: Kind, size: Int64 = 0, mode: UInt32 = 0o644, mtime: Int64 = 0,
                linkTarget: String? = nil) {
        self.path = path
        self.kind = kind
        self.size = size
        self.mode = mode
        self.mtime = mtime
        self.linkTarget = linkTarget
    }
}
