import Foundation
import Testing
import ShipkeepSandbox

/// The systemd user timer README documents, in a VM with systemd as PID 1: it fires `shipkeep-agent snapshot` as
/// the deploy user, and each firing is a snapshot of origin "schedule", in the history, with no line lost.
@Suite(.serialized, .timeLimit(.minutes(6)))
struct SnapshotTimerTests {
    @Test("a systemd user timer takes snapshots with shipkeep-agent snapshot")
    func theTimerFires() throws {
        try withSystemdVM(scope: .user) { vm in
            try vm.awaitBotLines()
            let dir = vm.sandbox.root + "/timer"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // README's pair, but every few seconds instead of hourly, so the test sees it fire twice.
            try """
                [Unit]
                Description=shipkeep snapshot of bots
                [Service]
                Type=oneshot
                ExecStart=\(vm.installedAgent) snapshot --config \(vm.sandbox.agentConfigPath) --app bots

                """.write(toFile: dir + "/shipkeep-snapshot-bots.service", atomically: true, encoding: .utf8)
            try """
                [Unit]
                Description=shipkeep snapshot of bots, every few seconds
                [Timer]
                OnActiveSec=1s
                OnUnitActiveSec=3s
                AccuracySec=1s
                [Install]
                WantedBy=timers.target

                """.write(toFile: dir + "/shipkeep-snapshot-bots.timer", atomically: true, encoding: .utf8)
            for unit in ["shipkeep-snapshot-bots.service", "shipkeep-snapshot-bots.timer"] {
                let linked = try vm.systemctl(["link", dir + "/" + unit])
                #expect(linked.status == 0, "systemctl link \(unit): \(linked.stderr)")
            }
            let started = try vm.systemctl(["start", "shipkeep-snapshot-bots.timer"])
            #expect(started.status == 0, "\(started.stderr)")

            var scheduled: [String] = []
            try waitUntil("the timer fires twice", timeout: 90) {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: vm.sandbox.snapshotDir)) ?? []
                scheduled = names.filter { name in
                    guard let data = FileManager.default.contents(atPath: vm.sandbox.snapshotDir + "/" + name
                            + "/info.json"),
                          let info = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
                    return info["origin"] as? String == "schedule" && info["outcome"] as? String == "succeeded"
                }
                return scheduled.count >= 2
            }
            _ = try vm.systemctl(["stop", "shipkeep-snapshot-bots.timer"])
            let history = jsonLines(try String(contentsOfFile: vm.sandbox.stateDir + "/history.jsonl", encoding: .utf8))
            #expect(history.filter { $0["action"] as? String == "snapshot" && $0["outcome"] as? String == "succeeded" }
                .count >= 2)
            let unit = try vm.systemctl(["show", "-p", "Result", "shipkeep-snapshot-bots.service"])
            #expect(unit.stdout.contains("Result=success"), "\(unit.stdout)")
            #expect(try vm.linesLost() == 0)
        }
    }
}
