/// A phase of a deploy (or of a restart, stop, start, download, ship, logs) as `phase` and `progress` events name it.
/// `preflight, snapshot, update, verify, restart, health` and `rollback` are the deploy's contract (DESIGN.md).
public enum DeployPhase: WireName {
    /// The lock, the work tree, the fetch, the gate.
    case preflight
    /// The data dirs copied into a snapshot.
    case snapshot
    /// The code reset to the commit, the hooks run.
    case update
    /// The data dirs compared with the snapshot.
    case verify
    /// Services restarted (also the action phase of `shipkeep restart`).
    case restart
    /// Services checked after the restart.
    case health
    /// The code brought back to the previous commit.
    case rollback
    /// Services stopped (`shipkeep stop`).
    case stop
    /// Services started (`shipkeep start`).
    case start
    /// A snapshot streamed to the controller (`progress` of `download`).
    case download
    /// A `deploy --ship` bundle received (`progress` of the upload).
    case ship
    /// A followed `logs` that is quiet (`progress` heartbeats).
    case logs
    /// A phase this build does not know (a newer agent's).
    case unknown(String)

    /// Every known phase, in deploy order, then the other operations'.
    public static let known: [DeployPhase] = [.preflight, .snapshot, .update, .verify, .restart, .health, .rollback,
                                              .stop, .start, .download, .ship, .logs]

    /// The wire spelling.
    public var rawValue: String {
        switch self {
        case .preflight: "preflight"
        case .snapshot: "snapshot"
        case .update: "update"
        case .verify: "verify"
        case .restart: "restart"
        case .health: "health"
        case .rollback: "rollback"
        case .stop: "stop"
        case .start: "start"
        case .download: "download"
        case .ship: "ship"
        case .logs: "logs"
        case .unknown(let name): name
        }
    }
}

/// Where a phase is: the `state` of a `phase` event.
public enum PhaseState: WireName {
    /// The phase began.
    case started
    /// The phase finished as it should.
    case completed
    /// The phase failed (its `detail` says why).
    case failed
    /// The phase was not needed.
    case skipped
    /// A state this build does not know.
    case unknown(String)

    /// Every known state.
    public static let known: [PhaseState] = [.started, .completed, .failed, .skipped]

    /// The wire spelling.
    public var rawValue: String {
        switch self {
        case .started: "started"
        case .completed: "completed"
        case .failed: "failed"
        case .skipped: "skipped"
        case .unknown(let name): name
        }
    }
}
