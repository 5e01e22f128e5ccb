/// A complete snapshot of an app's data dirs, as listed by `snapshots`.
public struct SnapshotInfo: Codable, Equatable, Sendable {
    /// The snapshot id (its directory name), e.g. `20261125T101500Z-3f2c1e0b`.
    public var id: String
    /// When it was taken.
    public var createdAt: Timestamp
    /// The deploy that took it.
    public var deploy: String?
    /// The commit that was live when it was taken.
    public var commit: String?
    /// Regular files in it.
    public var files: Int
    /// Bytes of those files.
    public var bytes: Int64
    /// Files hard-linked to the previous snapshot (unchanged since).
    public var linked: Int
    /// Files copied (new or changed).
    public var copied: Int
    /// Bytes written: the files copied whole, plus the chunks written of chunked files (a chunk hard-linked from
    /// the previous snapshot costs none).
    public var copiedBytes: Int64
    /// Regular files of each kind (`append`, `sqlite`, `mutable`); nil in snapshots taken before kinds.
    public var kinds: [String: Int]?
    /// What took it: `deploy`, `rollback`, `manual` (`shipkeep snapshot`) or `schedule` (`shipkeep-agent
    /// snapshot`, from a timer); nil in snapshots taken before it was recorded.
    public var origin: String?
    /// How what took it ended (`succeeded`, `rolled_back`, `failed`…); nil while it runs, for a worker that died,
    /// and in snapshots taken before it was recorded. Retention counts only successful ones against each other.
    public var outcome: Outcome?

    /// Whether retention counts it among the good snapshots: its deploy or snapshot succeeded, or it predates
    /// the recording of origins (today's snapshots keep today's meaning).
    public var isSuccessful: Bool { outcome == .succeeded || (origin == nil && outcome == nil) }

    /// Creates a listing entry.
    public init(id: String, createdAt: Timestamp, deploy: String?, commit: String?, files: Int, bytes: Int64, linked: Int,
                copied: Int, copiedBytes: Int64) {
        self.id = id
        self.createdAt = createdAt
        self.deploy = deploy
        self.commit = commit
        self.files = files
        self.bytes = bytes
        self.linked = linked
        self.copied = copied
        self.copiedBytes = copiedBytes
    }
}
