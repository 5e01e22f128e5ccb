import Foundation
import Testing
import ShipkeepSandbox

/// Fault matrix, row group 1: the controller (a CI job, a laptop) killed with SIGKILL while the worker is in
/// each phase. The deploy must finish on the VM regardless, and `attach` and `status` must say how it ended.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ControllerKillFaultTests {
    static let phases = ["preflight", "snapshot", "update", "verify", "restart", "health", "rollback"]

    @Test("the controller killed in each phase: the deploy finishes on the VM, attach and status show it",
          arguments: phases)
    func controllerKilled(in phase: String) throws {
        try withSandbox(bot: false) { vm in
            // The rollback phase needs a commit that fails its health check.
            let rollsBack = phase == "rollback"
            if rollsBack { try vm.writeAgentConfig(healthTimeout: 2) }
            let fixture = try Faults.prepare(vm, commit: rollsBack ? Faults.unhealthy : nil)
            let paused = try Faults.startPaused(vm, in: phase)
            paused.controller.kill(SIGKILL)
            paused.resume()

            let attached = try shipkeep(["attach", "--json", "--deploy", paused.deploy] + vm.controllerArguments)
            let expected = rollsBack ? "rolled_back" : "succeeded"
            let summary = Faults.result(attached.stdout)?["deploy"] as? [String: Any]
            let outcome = summary?["outcome"] as? String ?? "none"
            #expect(outcome == expected, "attach: \(attached.stderr) \(attached.stdout.suffix(1500))")
            #expect(attached.status == (rollsBack ? 1 : 0))
            let app = try Faults.appStatus(vm)
            #expect(Faults.lastOutcome(app) == expected)
            #expect(app["lock"] == nil, "the lock is released")
            #expect(try vm.liveCommit() == (rollsBack ? fixture.previous : fixture.target))
            let lost = try Faults.linesLost(vm)
            #expect(try vm.dataChecksums() == fixture.checksums)

            try ReliabilityRecord(
                section: "faults", id: "01-\(Self.phases.firstIndex(of: phase) ?? 0)",
                scenario: "controller killed during \(phase)",
                injection: "worker paused at the \(phase) fault point; `kill -9` of `shipkeep deploy`; worker resumed",
                outcome: "attach: \(outcome) (exit \(attached.status)); status: \(Faults.lastOutcome(app)); "
                    + "\(try Faults.codeAt(vm, fixture)); \(Faults.lockState(app))",
                linesLost: lost, test: "ControllerKillFaultTests/controllerKilled(in: \(phase))"
            ).write()
        }
    }
}
