import Foundation
import Testing
import ShipkeepSandbox

/// Fault matrix, row group 10: the VM loses power (every process of it SIGKILLed at once, nothing shut down) in
/// each deploy phase, while `bot.service` (a user unit of the non-root deploy user) keeps writing. The app, its
/// state and snapshots are on a persistent disk. After the VM boots again, the next agent start must bring the
/// app to a known commit with its data verified, and the bot must have lost no line.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct PowerCutFaultTests {
    static let phases = ["preflight", "snapshot", "update", "verify", "restart", "health", "rollback"]

    @Test("the VM powered off abruptly in each deploy phase is recovered after boot", arguments: phases)
    func powerCut(in phase: String) throws {
        try withSystemdVM(scope: .user) { vm in
            let rollsBack = phase == "rollback"
            try vm.sandbox.writeAgentConfig(healthTimeout: rollsBack ? 2 : 8,
                                            systemd: "{unit: bot.service, scope: user}")
            try vm.awaitBotLines()
            let previous = try vm.sandbox.liveCommit()
            let checksums = try vm.sandbox.dataChecksums()
            let target = try vm.sandbox.commit(rollsBack ? SystemdUnitTests.crashingBot
                                                         : ["bot.sh": SampleApp.bot(version: "v2")],
                                               message: "v2")
            // In the snapshot phase, stop mid-copy: a partial snapshot exists when the power goes.
            let point = phase == "snapshot" ? "snapshot-copy" : phase
            try vm.sandbox.pauseNextDeploy(in: point)
            try vm.giveAppToDeployUser()
            let controller = try BackgroundShipkeep(["deploy", "--json"] + vm.controllerArguments)
            defer { controller.kill(SIGKILL) }
            // The worker deletes the marker as it enters the phase, then stops itself.
            try waitUntil("the worker reaches \(point)", timeout: 60) {
                !FileManager.default.fileExists(atPath: vm.sandbox.stateDir + "/fault-pause-" + point)
            }

            try vm.powerCut()
            controller.kill(SIGKILL)
            // The first agent started after boot (this status) recovers the app before it answers.
            var app: [String: Any] = [:]
            try waitUntil("status reports the recovery", timeout: 30) {
                app = try Faults.appStatus(vm.sandbox)
                return Faults.lastOutcome(app) == "recovered" && app["lock"] == nil
            }
            let message = (app["lastDeploy"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("died during \(phase)"), "\(message)")
            let live = try vm.sandbox.liveCommit()
            #expect(live == previous, "code back at the commit before the deploy")
            let code = live == previous ? "code at the previous commit"
                : live == target ? "code at the target commit" : "code at an unexpected commit"
            #expect(try vm.sandbox.dataChecksums() == checksums, "data verified")
            #expect(Faults.partialSnapshots(vm.sandbox).isEmpty, "partial snapshot removed")
            try vm.awaitBotLines()
            let active = try vm.systemctl(["is-active", "bot.service"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            // The unit started at boot, before the agent recovered: it must run the code recovery left live.
            let running = try vm.botVersion()
            #expect(running == "v1", "bot.service runs the previous commit's bot, not \(running)")

            let again = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(again.status == (rollsBack ? 1 : 0), "a new deploy works after recovery: \(again.stderr)")
            try vm.awaitBotLines()
            let lost = try vm.linesLost()

            try ReliabilityRecord(
                section: "faults", id: "10-\(Self.phases.firstIndex(of: phase) ?? 0)",
                scenario: "VM powered off during \(phase) (systemd user unit, non-root deploy user)",
                injection: "worker paused at the \(phase) fault point"
                    + (phase == "snapshot" ? " (after its first copied file)" : "")
                    + "; SIGKILL to systemd-nspawn and every process of the VM; boot again on the same disk",
                outcome: "status: \(Faults.lastOutcome(app)); \(code); bot.service \(active), running \(running); "
                    + "\(Faults.lockState(app)); next deploy exit \(again.status)",
                linesLost: lost, test: "PowerCutFaultTests/powerCut(in: \(phase))"
            ).write()
        }
    }
}
