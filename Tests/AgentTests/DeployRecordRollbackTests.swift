import Foundation
import Testing
@testable import Agent
import Shared

/// Which commit `rollback` goes to after each kind of deploy (``DeployRecord/withRollbackCommit(after:)``).
@Suite struct DeployRecordRollbackTests {
    private func record(_ previous: String?, _ commit: String, _ outcome: String = "succeeded",
                        after prior: DeployRecord? = nil) -> DeployRecord {
        DeployRecord(deploy: "d-\(commit)", commit: commit, previousCommit: previous, startedAt: Timestamp.now(),
                     finishedAt: Timestamp.now(), outcome: Outcome(rawValue: outcome), message: nil).withRollbackCommit(after: prior)
    }

    @Test func aDeployThatChangesTheCommitRollsBackToTheOneBefore() {
        #expect(record("a", "b").rollbackTarget == "a")
    }

    @Test func redeploysOfTheLiveCommitKeepTheCommitBeforeIt() {
        let first = record("a", "b")
        let again = record("b", "b", after: first)
        let thrice = record("b", "b", after: again)
        #expect(again.rollbackTarget == "a" && thrice.rollbackTarget == "a")
    }

    @Test func refusedRolledBackAndRecoveredDeploysKeepItToo() {
        let first = record("a", "b")
        for outcome in ["refused", "rolled_back", "recovered"] {
            #expect(record("b", "c", outcome, after: first).rollbackTarget == "a", "\(outcome)")
        }
        // A failed rollback leaves the code unknown: nothing to go back to.
        #expect(record("b", "c", "failed", after: first).rollbackTarget == nil)
    }

    @Test func aRollbackRollsBackToWhereItCameFrom() {
        let rollback = record("b", "a", after: record("a", "b"))
        #expect(rollback.rollbackTarget == "b")
    }

    @Test func aFirstDeployOrAnUnrelatedPriorGivesNothing() {
        #expect(record(nil, "a").rollbackTarget == nil)
        #expect(record("x", "x", after: record("a", "b")).rollbackTarget == nil)
        // Records from agents before rollbackCommit existed still work.
        let old = DeployRecord(deploy: "d", commit: "b", previousCommit: "a", startedAt: Timestamp.now(), finishedAt: Timestamp.now(),
                               outcome: .succeeded, message: nil)
        #expect(old.rollbackTarget == "a" && record("b", "b", after: old).rollbackTarget == "a")
    }
}
