import Foundation
import Glibc
import Testing
import ShipkeepSandbox

/// `logs --service`, `stop`, `start` and `restart` of a systemd user unit, against systemd as PID 1 and a deploy
/// user who is not root: the journal read (and followed) with journalctl, the unit stopped and started with
/// systemctl.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SystemdOperationsTests {
    @Test("a user unit: its journal, followed across a restart; stop and start; the checks after start")
    func userUnitLogsStopAndStart() throws {
        try withSystemdVM(scope: .user) { vm in
            try vm.awaitBotLines()
            let journal = try shipkeep(["logs", "--json", "--service", "bot.service", "-n", "50"]
                + vm.controllerArguments)
            #expect(journal.status == 0, "\(journal.stderr)")
            let lines = events(journal.stdout, "log")
            #expect(lines.allSatisfy { $0["stream"] as? String == "journal" && $0["source"] as? String == "bot.service" })
            #expect(lines.contains { ($0["line"] as? String ?? "").contains("Started bot.service") }, "\(lines)")

            let follow = try BackgroundShipkeep(["logs", "--json", "-f", "-n", "1", "--service", "bot.service"]
                + vm.controllerArguments)
            // The follow has begun once the last line came; what the restart makes systemd log comes after it.
            try follow.waitForLine(timeout: 60) { $0.contains("\"type\":\"log\"") }
            let restart = try shipkeep(["restart", "--json"] + vm.controllerArguments)
            #expect(restart.status == 0, "\(restart.stderr)")
            try waitUntil("the restart's journal lines are followed", timeout: 60) {
                let followed = events(follow.output, "log").dropFirst().compactMap { $0["line"] as? String }
                return followed.contains { $0.contains("Started bot.service") } || !follow.isRunning
            }
            #expect(follow.isRunning)
            follow.kill(SIGINT)
            #expect(try follow.wait() == 0, "\(follow.errorOutput)")

            let stop = try shipkeep(["stop", "--json", "--service", "bot.service"] + vm.controllerArguments)
            #expect(stop.status == 0, "\(stop.stderr)")
            let inactive = try vm.systemctl(["is-active", "bot.service"])
            #expect(inactive.status != 0, "stopped: \(inactive.stdout)")

            let start = try shipkeep(["start", "--json"] + vm.controllerArguments)
            #expect(start.status == 0, "\(start.stderr)\n\(start.stdout.suffix(1500))")
            #expect(events(start.stdout, "phase").filter { $0["state"] as? String == "completed" }
                .compactMap { $0["name"] as? String } == ["preflight", "start", "health"])
            try vm.awaitBotLines()
        }
    }
}
