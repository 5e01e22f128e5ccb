extension Event {
    /// The answer to `backups`: an app's off-VM backups in its restic repository, newest first.
    public struct BackupList: Codable, Equatable, Sendable {
        /// The app.
        public var app: String
        /// The backups.
        public var backups: [BackupInfo]
        /// Creates the event.
        public init(app: String, backups: [BackupInfo]) {
            self.app = app
            self.backups = backups
        }
    }
}

/// One restic snapshot of an app's snapshot, as its tags describe it.
public struct BackupInfo: Codable, Equatable, Sendable {
    /// restic's snapshot id (64 hex digits); `restore --backup` takes it or a prefix of at least 8.
    public var id: String
    /// When restic took it.
    public var time: Timestamp
    /// The shipkeep snapshot it copies (`snapshot:` tag).
    public var snapshot: String?
    /// The commit that snapshot was taken at (`commit:` tag).
    public var commit: String?
    /// The bytes of the snapshot's data files (`bytes:` tag).
    public var bytes: Int64?
    /// The VM that made it.
    public var host: String?

    /// Creates a backup entry.
    public init(id: String, time: Timestamp, snapshot: String? = nil, commit: String? = nil, bytes: Int64? = nil,
                host: String? = nil) {
        self.id = id
        self.time = time
        self.snapshot = snapshot
        self.commit = commit
        self.bytes = bytes
        self.host = host
    }
}
