import Foundation
import Testing
import ShipkeepSandbox

/// Fault matrix, row group 2: the deploy worker itself killed with `kill -9` in each phase (an OOM kill, a
/// crash). The agent must bring the app back to a known commit with its data verified, release the lock, and
/// record the deploy as recovered; a new deploy must work afterwards.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct WorkerKillFaultTests {
    static let phases = ["preflight", "snapshot", "update", "verify", "restart", "health", "rollback"]

    @Test("the worker killed with kill -9 in each phase is recovered", arguments: phases)
    func workerKilled(in phase: String) throws {
        try withSandbox(bot: false) { vm in
            let rollsBack = phase == "rollback"
            if rollsBack { try vm.writeAgentConfig(healthTimeout: 2) }
            let fixture = try Faults.prepare(vm, commit: rollsBack ? Faults.unhealthy : nil)
            // In the snapshot phase, stop mid-copy: a partial snapshot exists when the worker dies.
            let paused = try Faults.startPaused(vm, in: phase == "snapshot" ? "snapshot-copy" : phase)
            paused.controller.kill(SIGKILL)
            kill(paused.worker, SIGKILL)
            try waitUntil("the worker is gone") {
                processState(paused.worker) == nil || processState(paused.worker) == "Z"
            }

            // The agent that was relaying the deploy, or the next one to start, recovers the app.
            var app: [String: Any] = [:]
            try waitUntil("status reports the recovery") {
                app = try Faults.appStatus(vm)
                return Faults.lastOutcome(app) == "recovered" && app["lock"] == nil
            }
            let message = (app["lastDeploy"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("died during \(phase)"), "\(message)")
            #expect(try vm.liveCommit() == fixture.previous, "code back at the commit before the deploy")
            let porcelain = try runProcess(["git", "-C", vm.appPath, "status", "--porcelain", "--untracked-files=no"])
            #expect(porcelain.stdout.isEmpty, "the work tree is clean: \(porcelain.stdout)")
            #expect(Faults.partialSnapshots(vm).isEmpty, "partial snapshot removed")
            let attached = try shipkeep(["attach", "--json", "--deploy", paused.deploy] + vm.controllerArguments)
            let attachedOutcome = (Faults.result(attached.stdout)?["deploy"] as? [String: Any])?["outcome"] as? String
            #expect(attachedOutcome == "recovered", "attach tells what happened: \(attached.stdout.suffix(800))")
            let lost = try Faults.linesLost(vm)
            #expect(try vm.dataChecksums() == fixture.checksums)
            let code = try Faults.codeAt(vm, fixture)

            // The app takes deploys again; the unhealthy commit of the rollback case is rolled back again.
            try vm.startBot()
            let again = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(again.status == (rollsBack ? 1 : 0), "a new deploy works after recovery: \(again.stderr)")

            try ReliabilityRecord(
                section: "faults", id: "02-\(Self.phases.firstIndex(of: phase) ?? 0)",
                scenario: "worker killed during \(phase)",
                injection: "worker paused at the \(phase) fault point"
                    + (phase == "snapshot" ? " (after its first copied file)" : "") + "; `kill -9` of the worker",
                outcome: "status: \(Faults.lastOutcome(app)); attach: \(attachedOutcome ?? "none"); "
                    + "\(code); \(Faults.lockState(app)); next deploy exit \(again.status)",
                linesLost: lost, test: "WorkerKillFaultTests/workerKilled(in: \(phase))"
            ).write()
        }
    }
}

/// Recovery after a killed worker resets the code as a rollback does: `git clean` keeps off the state and
/// snapshot dirs when agent.yml puts them inside the work tree, not only off the data dirs.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct RecoveryProtectionFaultTests {
    @Test func recoveryKeepsStateAndSnapshotsInsideTheWorkTree() throws {
        try withSandbox(bot: false) { vm in
            let state = vm.appPath + "/.shipkeep/state"
            let snapshots = vm.appPath + "/.shipkeep/snapshots"
            let config = try String(contentsOfFile: vm.agentConfigPath, encoding: .utf8)
                .replacingOccurrences(of: "state: \(vm.stateDir)", with: "state: .shipkeep/state")
                .replacingOccurrences(of: "dir: \(vm.snapshotDir)", with: "dir: .shipkeep/snapshots")
            #expect(config.contains("state: .shipkeep/state") && config.contains("dir: .shipkeep/snapshots"))
            try config.write(toFile: vm.agentConfigPath, atomically: true, encoding: .utf8)
            let fixture = try Faults.prepare(vm)
            let paused = try Faults.startPaused(vm, in: "update", stateDir: state)
            paused.controller.kill(SIGKILL)
            kill(paused.worker, SIGKILL)
            try waitUntil("the worker is gone") {
                processState(paused.worker) == nil || processState(paused.worker) == "Z"
            }
            var app: [String: Any] = [:]
            try waitUntil("status reports the recovery", timeout: 30) {
                app = try Faults.appStatus(vm)
                return Faults.lastOutcome(app) == "recovered" && app["lock"] == nil
            }
            #expect(try vm.liveCommit() == fixture.previous)
            let journal = state + "/deploys/" + paused.deploy + ".jsonl"
            let journalKept = FileManager.default.fileExists(atPath: journal)
            let kept = (try? FileManager.default.contentsOfDirectory(atPath: snapshots)) ?? []
            let snapshotKept = kept.contains {
                FileManager.default.fileExists(atPath: snapshots + "/" + $0 + "/manifest.json")
            }
            #expect(journalKept, "the deploy's journal survives the recovery's git clean")
            #expect(snapshotKept, "the deploy's snapshot survives the recovery's git clean: \(kept)")
            let lost = try Faults.linesLost(vm)
            #expect(try vm.dataChecksums() == fixture.checksums)

            try ReliabilityRecord(
                section: "faults", id: "08-3", scenario: "worker killed during update, state and snapshot dirs inside "
                    + "the work tree",
                injection: "agent.yml `state: .shipkeep/state`, snapshots in `.shipkeep/snapshots` (not ignored by "
                    + "git); worker paused at the update fault point; `kill -9` of the worker",
                outcome: "status: \(Faults.lastOutcome(app)); \(try Faults.codeAt(vm, fixture)); journal "
                    + (journalKept ? "kept" : "deleted") + ", snapshot " + (snapshotKept ? "kept" : "deleted") + "; "
                    + Faults.lockState(app),
                linesLost: lost, test: "RecoveryProtectionFaultTests/recoveryKeepsStateAndSnapshotsInsideTheWorkTree()"
            ).write()
        }
    }
}
