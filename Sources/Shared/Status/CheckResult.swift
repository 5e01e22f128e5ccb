/// What a status check judged: a service's `check` (or a systemd unit's `is-active`), the app's health
/// command, the freshness rule, or a data dir's presence.
public enum CheckKind: String, Codable, Sendable, CaseIterable {
    /// A service's `check` argv, or `systemctl is-active` for a `systemd:` service.
    case service
    /// The app's `health.command`.
    case command
    /// `health.fresh`: something under the path was written within `within` seconds.
    case fresh
    /// The data guard's cheap check: the data dir is there.
    case data
}

/// One check `status` ran on the VM, judged as the deploy's health phase judges it.
public struct CheckResult: Codable, Equatable, Sendable {
    /// What kind of check.
    public var kind: CheckKind
    /// The service name or unit, `health`, the freshness path, or the data dir.
    public var name: String
    /// Whether it passed.
    public var ok: Bool
    /// How long it ran.
    public var seconds: Double
    /// Why it failed, one line; nil when it passed.
    public var message: String?

    /// Creates a result.
    public init(kind: CheckKind, name: String, ok: Bool, seconds: Double, message: String? = nil) {
        self.kind = kind
        self.name = name
        self.ok = ok
        self.seconds = seconds
        self.message = message
    }
}
