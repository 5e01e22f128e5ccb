/// What a deploy did, carried by its `result`.
public struct DeploySummary: Codable, Equatable, Sendable {
    /// The deploy id.
    public var deploy: String
    /// The app.
    public var app: String
    /// The commit asked for, resolved to a full id (nil when resolution itself failed).
    public var commit: String?
    /// The commit before the deploy.
    public var previousCommit: String?
    /// The commit live now.
    public var liveCommit: String?
    /// `succeeded`, `rolled_back`, `failed`, `refused`, `locked`, `superseded` or `recovered`.
    public var outcome: Outcome
    /// The snapshot taken, if one was.
    public var snapshot: SnapshotInfo?
    /// Data files repaired by verify.
    public var repairs: Int
    /// Seconds from start to result.
    public var seconds: Double
    /// The deploy worker's peak resident memory in bytes (VmHWM), when known.
    public var workerPeakRSS: Int64?

    /// Creates a summary.
    public init(deploy: String, app: String, commit: String?, previousCommit: String?, liveCommit: String?,
                outcome: Outcome, snapshot: SnapshotInfo?, repairs: Int, seconds: Double, workerPeakRSS: Int64? = nil) {
        self.deploy = deploy
        self.app = app
        self.commit = commit
        self.previousCommit = previousCommit
        self.liveCommit = liveCommit
        self.outcome = outcome
        self.snapshot = snapshot
        self.repairs = repairs
        self.seconds = seconds
        self.workerPeakRSS = workerPeakRSS
    }
}
