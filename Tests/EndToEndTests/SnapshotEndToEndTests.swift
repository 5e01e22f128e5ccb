import Foundation
import Glibc
import Testing
import ShipkeepSandbox

/// `shipkeep snapshot` through a real sshd and `shipkeep-agent snapshot` as the timer runs it: the lock, nothing
/// lost while the bot writes, what made each snapshot and how it ended, and a retention that a failed deploy's
/// snapshot cannot use to push out a successful one.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SnapshotEndToEndTests {
    private func history(_ vm: VMSandbox) throws -> [[String: Any]] {
        jsonLines(try String(contentsOfFile: vm.stateDir + "/history.jsonl", encoding: .utf8))
    }

    /// The snapshots `shipkeep snapshots --json` lists, oldest first (as the agent sends them).
    private func snapshots(_ vm: VMSandbox) throws -> [[String: Any]] {
        let output = try shipkeep(["snapshots", "--json"] + vm.controllerArguments)
        #expect(output.status == 0, "\(output.stderr)")
        return try #require(events(output.stdout, "snapshots").first?["snapshots"] as? [[String: Any]])
    }

    private func agent(_ vm: VMSandbox, _ arguments: [String]) throws -> ProcessResult {
        try runProcess([try BuildProducts.path("shipkeep-agent"), "snapshot", "--config", vm.agentConfigPath,
                        "--app", vm.appName] + arguments)
    }

    @Test("shipkeep snapshot while the bot writes: a snapshot, no restart, no line lost, listed and recorded")
    func aSnapshotWhileTheBotWritesLosesNothing() throws {
        try withSandbox(bot: true) { vm in
            let live = try vm.liveCommit()
            let bot = try #require(vm.botPID())
            try waitUntil("the bot writes") { ((try? vm.botSequence()) ?? []).count > 50 }
            let output = try shipkeep(["snapshot", "--json"] + vm.controllerArguments)
            #expect(output.status == 0, "\(output.stderr)\n\(output.stdout.suffix(2000))")
            let result = try #require(jsonLines(output.stdout).last)
            #expect(result["type"] as? String == "result")
            #expect(result["ok"] as? Bool == true)
            let summary = try #require(result["deploy"] as? [String: Any])
            let taken = try #require(summary["snapshot"] as? [String: Any])
            let id = try #require(taken["id"] as? String)
            #expect(summary["outcome"] as? String == "succeeded")
            #expect(events(output.stdout, "phase").filter { $0["state"] as? String == "completed" }
                .compactMap { $0["name"] as? String } == ["preflight", "snapshot"])
            #expect(events(output.stdout, "progress").contains { $0["phase"] as? String == "snapshot" })
            #expect(try vm.liveCommit() == live)
            #expect(vm.botPID() == bot, "the bot was not restarted")

            // The snapshot holds every line written before it, in order, each whole.
            let stored = try String(contentsOfFile: vm.snapshotDir + "/" + id
                + "/paper_trading_outputs/signals.jsonl", encoding: .utf8)
            let storedSeqs = stored.split(separator: "\n").compactMap { line -> Int? in
                guard let range = line.range(of: "\"seq\":") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }
            #expect(!storedSeqs.isEmpty && storedSeqs == Array(1...storedSeqs.count))
            try waitUntil("the bot writes after the snapshot") { try vm.botSequence().count > storedSeqs.count + 20 }
            vm.stopBot()
            let seqs = try vm.botSequence()
            #expect(seqs == Array(1...(seqs.max() ?? 0)), "a line was lost while the snapshot was taken")
            let current = try String(contentsOfFile: vm.appPath + "/paper_trading_outputs/signals.jsonl",
                                     encoding: .utf8)
            #expect(current.hasPrefix(stored))

            let listed = try #require(try snapshots(vm).last)
            #expect(listed["id"] as? String == id)
            #expect(listed["origin"] as? String == "manual")
            #expect(listed["outcome"] as? String == "succeeded")
            let record = try #require(try history(vm).last)
            #expect(record["action"] as? String == "snapshot")
            #expect(record["outcome"] as? String == "succeeded")
            #expect(record["snapshot"] as? String == id)
            #expect((record["who"] as? String)?.contains("@") == true)

            // The human listing: a header, newest first, what made it and its outcome.
            let human = try shipkeep(["snapshots"] + vm.controllerArguments)
            let lines = human.stdout.split(separator: "\n")
            #expect(lines.first?.hasPrefix("SNAPSHOT") == true, "\(human.stdout)")
            #expect(lines.dropFirst().first?.contains(id) == true)
            #expect(lines.dropFirst().first?.contains("manual") == true)
            let again = try shipkeep(["snapshot"] + vm.controllerArguments)
            #expect(again.status == 0, "\(again.stderr)")
            let said = "snapshot [0-9TZ]+-[0-9a-f]{8}(-[0-9]+)? taken at live commit [0-9a-f]{12} in"
            #expect(again.stdout.range(of: said, options: .regularExpression) != nil, "\(again.stdout)")
            let newest = try #require(try snapshots(vm).last?["id"] as? String)

            // `latest` names it wherever an id goes.
            let restore = try shipkeep(["restore", "--snapshot", "latest", "--path", "logs", "--json"]
                + vm.controllerArguments)
            #expect(restore.status == 0, "\(restore.stderr)\n\(restore.stdout)")
            #expect(try history(vm).last?["snapshot"] as? String == newest)
            let archive = vm.root + "/latest.tar.gz"
            let download = try shipkeep(["download", "--snapshot", "latest", "--output", archive]
                + vm.controllerArguments)
            #expect(download.status == 0, "\(download.stderr)")
            #expect(FileManager.default.fileExists(atPath: archive))
        }
    }

    @Test("a rolled-back deploy's snapshot does not push out a successful one")
    func aFailedDeploysSnapshotDoesNotPushOutASuccessfulOne() throws {
        try withSandbox(bot: true) { vm in
            try vm.writeAgentConfig(keep: 2)
            for _ in 0..<2 {
                let output = try shipkeep(["snapshot", "--json"] + vm.controllerArguments)
                #expect(output.status == 0, "\(output.stderr)")
            }
            let good = try snapshots(vm).compactMap { $0["id"] as? String }
            #expect(good.count == 2)
            try vm.commit(["check.sh": "#!/usr/bin/env bash\necho 'self-test failed' >&2\nexit 1\n"],
                          message: "broken check")
            let deploy = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(deploy.status == 1, "\(deploy.stderr)")
            #expect(resultCode(deploy.stdout) == "rolled_back")
            let after = try snapshots(vm)
            let ids = after.compactMap { $0["id"] as? String }
            #expect(Set(good).isSubset(of: Set(ids)), "a successful snapshot was pruned: \(ids)")
            let failed = try #require(after.last)
            #expect(failed["origin"] as? String == "deploy")
            #expect(failed["outcome"] as? String == "rolled_back")
            // A successful snapshot after it does push out the oldest successful one: keep: 2 counts those.
            let third = try shipkeep(["snapshot", "--json"] + vm.controllerArguments)
            #expect(third.status == 0, "\(third.stderr)")
            let final = try snapshots(vm).compactMap { $0["id"] as? String }
            #expect(!final.contains(good[0]) && final.contains(good[1]) && final.contains(ids.last ?? "?"))
            #expect(final.count == 3)
            vm.stopBot()
        }
    }

    @Test("shipkeep-agent snapshot, as a timer runs it: a snapshot of origin schedule, 4 when locked, 1 refused")
    func theAgentsSnapshotCommand() throws {
        try withSandbox(bot: true) { vm in
            let output = try agent(vm, [])
            #expect(output.status == 0, "\(output.stderr)\n\(output.stdout)")
            #expect(output.stdout.contains("snapshot: completed"))
            let listed = try #require(try snapshots(vm).last)
            #expect(listed["origin"] as? String == "schedule")
            #expect(listed["outcome"] as? String == "succeeded")
            let record = try #require(try history(vm).last)
            #expect(record["action"] as? String == "snapshot")
            #expect((record["who"] as? String)?.hasPrefix("schedule") == true)

            let json = try agent(vm, ["--json"])
            #expect(json.status == 0, "\(json.stderr)")
            #expect(jsonLines(json.stdout).last?["ok"] as? Bool == true)

            // A deploy holds the lock: the timer's snapshot and `shipkeep snapshot` exit 4 and change nothing.
            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            try vm.pauseNextDeploy(in: "snapshot")
            let deploy = try BackgroundShipkeep(["deploy", "--json"] + vm.controllerArguments)
            let started = try deploy.waitForLine { $0.contains("\"type\":\"started\"") }
            let worker = Int32(try #require(jsonLines(started).first?["pid"] as? Int))
            try waitUntil("the worker stops in its snapshot") { processState(worker) == "T" }
            let count = try snapshots(vm).count
            let locked = try agent(vm, [])
            #expect(locked.status == 4, "\(locked.stderr)")
            #expect(locked.stderr.contains("locked"))
            let remote = try shipkeep(["snapshot", "--json"] + vm.controllerArguments)
            #expect(remote.status == 4, "\(remote.stderr)")
            #expect(resultCode(remote.stdout) == "locked")
            kill(worker, SIGCONT)
            #expect(try deploy.wait() == 0, "\(deploy.errorOutput)")
            #expect(try snapshots(vm).count == count + 1, "only the deploy's own snapshot was added")

            // The same permission checks as serve: a config another user can write is refused.
            chmod(vm.agentConfigPath, 0o664)
            let unsafe = try agent(vm, [])
            #expect(unsafe.status == 64, "a configuration error")
            #expect(unsafe.stderr.contains("writable by group or others"), "\(unsafe.stderr)")
            chmod(vm.agentConfigPath, 0o600)
            let unknown = try runProcess([try BuildProducts.path("shipkeep-agent"), "snapshot", "--config",
                                          vm.agentConfigPath, "--app", "nope"])
            #expect(unknown.status == 64, "a usage error")
            #expect(unknown.stderr.contains("no app named \"nope\""))
            vm.stopBot()
        }
    }
}
