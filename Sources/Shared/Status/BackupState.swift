/// What the agent last did with an app's restic repository, as `status` reports it without asking restic:
/// recorded in the state dir (`backup.json`) after every backup attempt.
public struct BackupState: Codable, Equatable, Sendable {
    /// When the last attempt ended.
    public var attemptedAt: Timestamp
    /// Whether it stored the snapshot (a failed forget after a stored backup still counts as stored).
    public var ok: Bool
    /// The snapshot it backed up.
    public var snapshot: String?
    /// restic's id of the backup it made.
    public var backup: String?
    /// Why it failed, one line, redacted; or a warning about the forget.
    public var message: String?
    /// When the newest backup that succeeded was made.
    public var newest: Timestamp?
    /// The age after which `status` warns (agent.yml `max_age`), in seconds.
    public var maxAge: Int?

    /// Creates a state.
    public init(attemptedAt: Timestamp, ok: Bool, snapshot: String? = nil, backup: String? = nil, message: String? = nil,
                newest: Timestamp? = nil, maxAge: Int? = nil) {
        self.attemptedAt = attemptedAt
        self.ok = ok
        self.snapshot = snapshot
        self.backup = backup
        self.message = message
        self.newest = newest
        self.maxAge = maxAge
    }
}
