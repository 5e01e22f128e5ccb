/// What a line of an app's history records: a deploy, a rollback, a restore, a recovery, a snapshot, a service
/// restart, a change of its secrets. An open set (a newer agent may write actions this build does not know), so a
/// string on the wire and on disk rather than an enum that would refuse them.
public struct HistoryAction: RawRepresentable, Codable, Hashable, Sendable {
    /// The wire spelling, e.g. `deploy`.
    public var rawValue: String
    /// Wraps a spelling.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A deploy of a commit (`shipkeep deploy`).
    public static let deploy = HistoryAction(rawValue: "deploy")
    /// A deploy of the commit live before the last successful one (`shipkeep rollback`).
    public static let rollback = HistoryAction(rawValue: "rollback")
    /// Data put back from a snapshot (`shipkeep restore`).
    public static let restore = HistoryAction(rawValue: "restore")
    /// The agent finishing a deploy whose worker died.
    public static let recovery = HistoryAction(rawValue: "recovery")
    /// A snapshot taken outside a deploy.
    public static let snapshot = HistoryAction(rawValue: "snapshot")
    /// Services restarted outside a deploy (`shipkeep restart`, `env set --restart`).
    public static let restart = HistoryAction(rawValue: "restart")
    /// Services stopped (`shipkeep stop`).
    public static let stop = HistoryAction(rawValue: "stop")
    /// Services started (`shipkeep start`).
    public static let start = HistoryAction(rawValue: "start")
    /// A secret set or unset (`shipkeep env`); the record names the key, never the value.
    public static let env = HistoryAction(rawValue: "env")
}

/// One entry of an app's history: a line of `STATE/history.jsonl` on the VM, and the payload of a `history`
/// event. Field names are a contract: whatever appends to the file (deploys, restores, recoveries, restarts)
/// writes these.
public struct HistoryRecord: Codable, Equatable, Sendable {
    /// When the action started.
    public var time: Timestamp
    /// What was done.
    public var action: HistoryAction
    /// Who asked: the controller identity (`user@host`, the CI job), or the agent itself for a recovery.
    public var who: String?
    /// The commit live before.
    public var before: String?
    /// The commit the action deployed (for a rolled-back deploy, the one it tried).
    public var after: String?
    /// `succeeded`, `rolled_back`, `refused`, `failed`, `locked`, `superseded`, `recovered`…
    public var outcome: Outcome
    /// Seconds it took.
    public var duration: Double?
    /// The snapshot it took or restored from.
    public var snapshot: String?
    /// The service(s) it restarted.
    public var service: String?
    /// The deploy id, for a deploy, rollback or recovery (`shipkeep attach --deploy`).
    public var deploy: String?
    /// One line saying what happened, when there is more to say (why it failed, which key was set).
    public var detail: String?

    /// The longest `detail` kept: a history line stays a line, not a log.
    public static let maxDetail = 300
    /// The longest `who` kept: the controller names itself, and a hostile one must not fill the VM's disk.
    public static let maxWho = 200

    /// Creates a record; `detail` and `who` are cut to ``maxDetail`` and ``maxWho`` characters.
    public init(time: Timestamp, action: HistoryAction, who: String?, before: String? = nil, after: String? = nil,
                outcome: Outcome, duration: Double? = nil, snapshot: String? = nil, service: String? = nil,
                deploy: String? = nil, detail: String? = nil) {
        self.time = time
        self.action = action
        self.who = who.map { $0.count > Self.maxWho ? String($0.prefix(Self.maxWho - 1)) + "…" : $0 }
        self.before = before
        self.after = after
        self.outcome = outcome
        self.duration = duration.map { ($0 * 1000).rounded() / 1000 }
        self.snapshot = snapshot
        self.service = service
        self.deploy = deploy
        self.detail = detail.map { $0.count > Self.maxDetail ? String($0.prefix(Self.maxDetail - 1)) + "…" : $0 }
    }
}
