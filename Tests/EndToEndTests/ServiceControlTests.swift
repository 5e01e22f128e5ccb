import Foundation
import Glibc
import Testing
import ShipkeepSandbox

/// `shipkeep restart|stop|start` through a real sshd: the lock, the health phase after a restart, stop and start
/// of a command service, the history record, and the captured output `logs --service` shows.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ServiceControlTests {
    private func history(_ vm: VMSandbox) throws -> [[String: Any]] {
        jsonLines(try String(contentsOfFile: vm.stateDir + "/history.jsonl", encoding: .utf8))
    }

    @Test("restart without a deploy: the bot is restarted and healthy, no line lost, no snapshot, recorded")
    func restartRestartsAndChecksHealth() throws {
        try withSandbox(bot: true) { vm in
            let before = try #require(vm.botPID())
            let snapshots = (try? FileManager.default.contentsOfDirectory(atPath: vm.snapshotDir)) ?? []
            let output = try shipkeep(["restart", "--json"] + vm.controllerArguments)
            #expect(output.status == 0, "\(output.stderr)\n\(output.stdout)")
            let phases = events(output.stdout, "phase").filter { $0["state"] as? String == "completed" }
                .compactMap { $0["name"] as? String }
            #expect(phases == ["preflight", "restart", "health"])
            #expect(events(output.stdout, "log").contains { ($0["line"] as? String)?.contains("bot restarted as pid") == true })
            #expect(try #require(vm.botPID()) != before)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: vm.snapshotDir)) ?? []) == snapshots)
            let record = try #require(try history(vm).last)
            #expect(record["action"] as? String == "restart")
            #expect(record["outcome"] as? String == "succeeded")
            #expect((record["who"] as? String)?.contains("@") == true)
            #expect(record["duration"] is Double)
            #expect(record["time"] is String)
            #expect(record.keys.contains("service") == false, "all services: no service named")

            // What the restart printed is what `logs --service` shows.
            let logs = try shipkeep(["logs", "--json", "--service", "bot"] + vm.controllerArguments)
            #expect(logs.status == 0, "\(logs.stderr)")
            let lines = events(logs.stdout, "log")
            #expect(lines.contains { ($0["line"] as? String)?.contains("stdout bot restarted as pid") == true }, "\(logs.stdout)")
            #expect(lines.allSatisfy { $0["stream"] as? String == "output" && $0["source"] as? String == "bot" })
            vm.stopBot()
            let seqs = try vm.botSequence()
            #expect(seqs == Array(1...(seqs.max() ?? 0)), "no line lost or duplicated across the restart")
        }
    }

    @Test("a restart whose service check then fails exits 2 (needs attention) and releases the lock")
    func restartWithAFailingCheckNeedsAttention() throws {
        try withSandbox(bot: true) { vm in
            try vm.writeScript("check.sh", "#!/usr/bin/env bash\necho 'exchange connection lost' >&2\nexit 1\n")
            let output = try shipkeep(["restart", "--json", "--service", "bot"] + vm.controllerArguments)
            #expect(output.status == 2, "\(output.stderr)")
            #expect(resultCode(output.stdout) == "unhealthy")
            #expect(output.stderr.contains("restarted, but not healthy"), "\(output.stderr)")
            #expect(output.stderr.contains("exchange connection lost"), "\(output.stderr)")
            #expect(events(output.stdout, "phase").contains {
                $0["name"] as? String == "health" && $0["state"] as? String == "failed"
            })
            let record = try #require(try history(vm).last)
            #expect(record["outcome"] as? String == "unhealthy")
            #expect(record["service"] as? String == "bot")
            // The lock is free again: a deploy is not refused as locked.
            try vm.writeScript("check.sh", SampleApp.check)
            let deploy = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(deploy.status == 0, "\(deploy.stderr)")
            // A restart that the data guard catches: the new process truncates its output on start.
            try vm.writeScript("restart.sh", SampleApp.restart.replacingOccurrences(
                of: "nohup setsid", with: ": > paper_trading_outputs/signals.jsonl\nnohup setsid"))
            let clobber = try shipkeep(["restart", "--json"] + vm.controllerArguments)
            #expect(clobber.status == 2, "\(clobber.stderr)")
            #expect(clobber.stderr.contains("signals.jsonl"), "\(clobber.stderr)")
            #expect(clobber.stderr.contains("damaged the data"), "\(clobber.stderr)")
        }
    }

    @Test("stop needs a stop: command; stop and start then do what they say; unknown services are refused")
    func stopAndStart() throws {
        try withSandbox(bot: true) { vm in
            let refused = try shipkeep(["stop", "--json"] + vm.controllerArguments)
            #expect(refused.status == 64, "a configuration error: \(refused.stderr)")
            #expect(resultCode(refused.stdout) == "no_stop_command")
            #expect(refused.stderr.contains("stop:"), "\(refused.stderr)")
            #expect(try runProcess([vm.appPath + "/check.sh"]).status == 0, "nothing was stopped")

            let unknown = try shipkeep(["restart", "--service", "nope"] + vm.controllerArguments)
            #expect(unknown.status == 64, "a usage error: \(unknown.stderr)")
            let unknownLogs = try shipkeep(["logs", "--json", "--service", "nope"] + vm.controllerArguments)
            #expect(unknownLogs.status == 64 && resultCode(unknownLogs.stdout) == "unknown_service",
                    "logs names the same error: \(unknownLogs.stderr)")
            #expect(unknown.stderr.contains("no service \"nope\""), "\(unknown.stderr)")

            try vm.writeScript("stop.sh", """
                #!/usr/bin/env bash
                pid=$(cat bot.pid) && kill "$pid" && while kill -0 "$pid" 2>/dev/null && \
                ! grep -q '^State:[[:space:]]*Z' /proc/$pid/status; do sleep 0.01; done
                echo "bot $pid stopped"
                """)
            try vm.extendAgentConfig(service: ["stop: [\"./stop.sh\"]"])
            let stop = try shipkeep(["stop", "--json"] + vm.controllerArguments)
            #expect(stop.status == 0, "\(stop.stderr)")
            #expect(try runProcess([vm.appPath + "/check.sh"]).status != 0, "the bot is stopped")
            let stopped = try vm.botSequence().count
            let start = try shipkeep(["start", "--json"] + vm.controllerArguments)
            #expect(start.status == 0, "\(start.stderr)")
            #expect(events(start.stdout, "phase").filter { $0["state"] as? String == "completed" }
                .compactMap { $0["name"] as? String } == ["preflight", "start", "health"])
            #expect(try runProcess([vm.appPath + "/check.sh"]).status == 0, "the bot runs again")
            try waitUntil("the bot writes again") { try vm.botSequence().count > stopped }
            #expect(try history(vm).suffix(2).compactMap { $0["action"] as? String } == ["stop", "start"])
        }
    }

    @Test("restart, stop and start while a deploy holds the lock exit 4")
    func restartWhileLockedExits4() throws {
        try withSandbox(bot: true) { vm in
            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            try vm.pauseNextDeploy(in: "snapshot")
            let deploy = try BackgroundShipkeep(["deploy", "--json"] + vm.controllerArguments)
            let started = try deploy.waitForLine { $0.contains("\"type\":\"started\"") }
            let worker = Int32(try #require(jsonLines(started).first?["pid"] as? Int))
            try waitUntil("the worker stops in its snapshot") { processState(worker) == "T" }
            for action in ["restart", "start"] {
                let output = try shipkeep([action, "--json", "--ignore-gate"] + vm.controllerArguments)
                #expect(output.status == 4, "\(action): \(output.stderr)")
                #expect(resultCode(output.stdout) == "locked", "\(action)")
            }
            kill(worker, SIGCONT)
            #expect(try deploy.wait() == 0, "\(deploy.errorOutput)")
        }
    }
}
