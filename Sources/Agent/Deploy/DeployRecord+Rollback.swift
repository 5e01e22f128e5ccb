import Shared

/// Where `rollback` goes: the last commit that was live before the live one and differed from it. Each record
/// carries it (``DeployRecord/rollbackCommit``), so that a redeploy of the live commit (today's way to restart a
/// bot), or a deploy that was refused or rolled back, does not leave `rollback` with "nothing to roll back to".
extension DeployRecord {
    /// The commit this deploy left live, when the outcome says: the new commit after a success, the one before
    /// after a refusal, a rollback or a recovery (which all put it back); nil when unknown (a failed rollback).
    var leftLive: String? {
        let live = switch outcome {
        case .succeeded: commit
        case .refused, .rolledBack, .recovered: previousCommit
        default: String?.none
        }
        return live?.isEmpty == false ? live : nil
    }

    /// The commit `rollback` deploys from what this deploy left live; nil when there is none.
    var rollbackTarget: String? {
        if let rollbackCommit, !rollbackCommit.isEmpty, rollbackCommit != leftLive { return rollbackCommit }
        // Records written before `rollbackCommit` existed: the commit before a successful deploy that changed it.
        guard outcome == .succeeded, let previousCommit, !previousCommit.isEmpty, previousCommit != commit else {
            return nil
        }
        return previousCommit
    }

    /// This record with ``rollbackCommit`` set, given the record it replaces: the commit before, if this deploy
    /// changed the live commit; else what `prior` would have rolled back to, if `prior` left the same commit live.
    func withRollbackCommit(after prior: DeployRecord?) -> DeployRecord {
        var record = self
        record.rollbackCommit = nil
        guard let live = leftLive else { return record }
        if outcome == .succeeded, let previousCommit, !previousCommit.isEmpty, previousCommit != live {
            record.rollbackCommit = previousCommit
        } else if let prior, prior.leftLive == live, let target = prior.rollbackTarget, target != live {
            record.rollbackCommit = target
        }
        return record
    }
}
