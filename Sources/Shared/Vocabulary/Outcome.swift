/// How a deploy, rollback, recovery, restore, snapshot or service action ended: `outcome` in a `result`'s
/// summary, in the app's history and last-deploy record, and in a snapshot's `info.json`.
public enum Outcome: WireName {
    /// It did what was asked.
    case succeeded
    /// The new code was unhealthy and the previous commit is live again.
    case rolledBack
    /// It failed (the error says whether the app needs attention).
    case failed
    /// It was refused before anything changed.
    case refused
    /// Another deploy held the lock.
    case locked
    /// A newer request (or a newer live commit) replaced it while it waited.
    case superseded
    /// Its worker died; the next agent start brought the app back to a known commit.
    case recovered
    /// Services restarted or started but not healthy (nothing is rolled back after a restart).
    case unhealthy
    /// Not attempted (a fleet host after a failed canary). The controller's word, never the agent's.
    case skipped
    /// The VM could not be asked. The controller's word, never the agent's.
    case unreachable
    /// The command or its configuration was wrong (exit 64). The controller's word, never the agent's.
    case usageError
    /// An outcome this build does not know.
    case unknown(String)

    /// Every known outcome.
    public static let known: [Outcome] = [.succeeded, .rolledBack, .failed, .refused, .locked, .superseded,
                                          .recovered, .unhealthy, .skipped, .unreachable, .usageError]

    /// The wire spelling.
    public var rawValue: String {
        switch self {
        case .succeeded: "succeeded"
        case .rolledBack: "rolled_back"
        case .failed: "failed"
        case .refused: "refused"
        case .locked: "locked"
        case .superseded: "superseded"
        case .recovered: "recovered"
        case .unhealthy: "unhealthy"
        case .skipped: "skipped"
        case .unreachable: "unreachable"
        case .usageError: "usage_error"
        case .unknown(let name): name
        }
    }

    /// The spelling for a person: `rolled back`.
    public var words: String { String(rawValue.map { $0 == "_" ? " " : $0 }) }
}

extension Outcome {
    /// The outcome of a result that carries no deploy summary: `succeeded`, else the error's code read as an
    /// outcome (`locked`, `superseded`, `refused`…), as results without a summary always were.
    public static func of(_ result: Event.Result) -> Outcome {
        result.ok ? .succeeded : Outcome(rawValue: result.error?.code.rawValue ?? Outcome.failed.rawValue)
    }
}
