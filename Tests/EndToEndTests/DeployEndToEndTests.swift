import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep deploy` through a real sshd: the "done means" of the deploy engine, each with the data checked.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct DeployEndToEndTests {
    /// A sandbox with ≥ 100 MB in ≥ 1,000 files, a new commit pushed, and the bot writing.
    private func withBigSandbox<T>(_ body: (VMSandbox, String) throws -> T) throws -> T {
        try withSandbox(bot: false) { vm in
            try vm.fillData(files: 1000, bytesEach: 100 * 1024)
            let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2: new strategy")
            try vm.startBot()
            return try body(vm, target)
        }
    }

    private func result(_ output: ProcessResult) throws -> [String: Any] {
        try #require(jsonLines(output.stdout).last { $0["type"] as? String == "result" })
    }

    private func summary(_ output: ProcessResult) throws -> [String: Any] {
        try #require(try result(output)["deploy"] as? [String: Any])
    }

    /// Every seq from 1 to the last appears exactly once.
    private func assertNoLineLost(_ vm: VMSandbox, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let seqs = try vm.botSequence()
        let last = try #require(seqs.max(), sourceLocation: sourceLocation)
        #expect(seqs.count == last, "\(last - seqs.count) line(s) lost or duplicated", sourceLocation: sourceLocation)
        #expect(Set(seqs).count == seqs.count, "duplicated lines", sourceLocation: sourceLocation)
        #expect(seqs == Array(1...last), "lines out of order or missing", sourceLocation: sourceLocation)
    }

    @Test("1. 100 MB in 1,000 files while the bot appends: every line kept, every other file identical")
    func deployWhileTheBotWritesLosesNothing() throws {
        try withBigSandbox { vm, target in
            let before = try vm.dataChecksums()
            #expect(before.count >= 1010)
            let linesBefore = try vm.botSequence().count
            let started = Date()
            let output = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            let seconds = Date().timeIntervalSince(started)
            let linesDuring = try vm.botSequence().count - linesBefore
            #expect(output.status == 0, "\(output.stderr)\n\(output.stdout.suffix(2000))")
            vm.stopBot()
            try assertNoLineLost(vm)
            #expect(try vm.dataChecksums() == before, "a data file changed")
            #expect(try vm.liveCommit() == target)
            #expect(try summary(output)["commit"] as? String == target)
            #expect(Double(linesDuring) / seconds >= 200, "the bot wrote only \(linesDuring) lines in \(seconds)s")
            let phases = jsonLines(output.stdout).filter { $0["type"] as? String == "phase" && $0["state"] as? String == "completed" }
                .compactMap { $0["name"] as? String }
            #expect(phases == ["preflight", "snapshot", "update", "verify", "restart", "health"])
            #expect(jsonLines(output.stdout).contains { $0["type"] as? String == "progress" && $0["phase"] as? String == "snapshot" })
        }
    }

    @Test("2. a commit whose service check fails is rolled back")
    func anUnhealthyCommitIsRolledBack() throws {
        try withSandbox(bot: true) { vm in
            let previous = try vm.liveCommit()
            try vm.commit(["check.sh": "#!/usr/bin/env bash\necho 'strategy self-test failed' >&2\nexit 1\n"],
                          message: "broken check")
            let output = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(output.status == 1, "\(output.stderr)")
            let final = try result(output)
            #expect(final["ok"] as? Bool == false)
            #expect((final["error"] as? [String: Any])?["code"] as? String == "rolled_back")
            #expect(try summary(output)["outcome"] as? String == "rolled_back")
            #expect(output.stderr.contains("rolled back"))
            #expect(try vm.liveCommit() == previous)
            #expect(try runProcess([vm.appPath + "/check.sh"]).status == 0, "the bot runs again after the rollback")
            vm.stopBot()
            try assertNoLineLost(vm)
        }
    }

    @Test("3. the controller killed mid-deploy: the deploy finishes on the VM and attach shows it")
    func killingTheControllerDoesNotStopTheDeploy() throws {
        try withBigSandbox { vm, target in
            let before = try vm.dataChecksums()
            try vm.writeAgentConfig(hooks: [["sleep", "2"]])
            let controller = try BackgroundShipkeep(["deploy", "--json"] + vm.controllerArguments)
            try controller.waitForLine { $0.contains("\"name\":\"update\"") }
            controller.kill(SIGKILL)
            let attached = try shipkeep(["attach", "--json"] + vm.controllerArguments)
            #expect(attached.status == 0, "\(attached.stderr)")
            #expect(try summary(attached)["outcome"] as? String == "succeeded")
            #expect(try vm.liveCommit() == target)
            let status = try shipkeep(["status", "--json"] + vm.controllerArguments)
            #expect(!status.stdout.contains("\"lock\":{"), "the lock is released")
            vm.stopBot()
            try assertNoLineLost(vm)
            #expect(try vm.dataChecksums() == before)
        }
    }

    @Test("4. the worker killed with kill -9 in each phase is recovered; data intact, code at a known commit",
          arguments: ["snapshot", "update", "verify", "restart"])
    func aKilledWorkerIsRecovered(phase: String) throws {
        try withSandbox(bot: false) { vm in
            try vm.fillData(files: 50, bytesEach: 64 * 1024)
            let previous = try vm.liveCommit()
            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            try vm.startBot()
            let before = try vm.dataChecksums()
            // In the snapshot phase, stop mid-copy: a partial snapshot exists when the worker dies.
            try vm.pauseNextDeploy(in: phase == "snapshot" ? "snapshot-copy" : phase)
            let controller = try BackgroundShipkeep(["deploy", "--json"] + vm.controllerArguments)
            let started = try controller.waitForLine { $0.contains("\"type\":\"started\"") }
            let pid = try #require(jsonLines(started).first?["pid"] as? Int)
            try waitUntil("the worker stops in \(phase)") { processState(Int32(pid)) == "T" }
            controller.kill(SIGKILL)
            Foundation.kill(Int32(pid), SIGKILL)
            try waitUntil("the worker is gone") { processState(Int32(pid)) == nil || processState(Int32(pid)) == "Z" }

            // The agent that was relaying the deploy, or the next one to start, recovers the app.
            var app: [String: Any] = [:]
            try waitUntil("status reports the recovery") {
                let status = try shipkeep(["status", "--json"] + vm.controllerArguments)
                app = (jsonLines(status.stdout).first { $0["type"] as? String == "status" }?["apps"]
                    as? [[String: Any]])?.first ?? [:]
                return (app["lastDeploy"] as? [String: Any])?["outcome"] as? String == "recovered" && app["lock"] == nil
            }
            let last = try #require(app["lastDeploy"] as? [String: Any])
            #expect(last["outcome"] as? String == "recovered")
            #expect((last["message"] as? String)?.contains("died during \(phase)") == true, "\(last)")
            #expect(app["lock"] == nil, "the lock is released")
            #expect(try vm.liveCommit() == previous, "code back at the commit before the deploy")
            #expect(try runProcess(["git", "-C", vm.appPath, "status", "--porcelain", "--untracked-files=no"]).stdout.isEmpty)
            let snapshots = try FileManager.default.contentsOfDirectory(atPath: vm.stateDir + "/snapshots")
            #expect(!snapshots.contains { $0.hasSuffix(".partial") }, "partial snapshot removed: \(snapshots)")
            vm.stopBot()
            try assertNoLineLost(vm)
            #expect(try vm.dataChecksums() == before)

            let again = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(again.status == 0, "a new deploy works after recovery: \(again.stderr)")
        }
    }

    @Test("5. two deploys at once: the second is refused naming the holder")
    func concurrentDeploysAreSerializedByTheLock() throws {
        try withSandbox(bot: true) { vm in
            try vm.writeAgentConfig(hooks: [["sleep", "3"]])
            let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let first = try BackgroundShipkeep(["deploy", "--json"] + vm.controllerArguments)
            let started = try first.waitForLine { $0.contains("\"name\":\"update\"") }
            _ = started
            let deployID = try #require(jsonLines(first.output).first { $0["type"] as? String == "started" }?["deploy"] as? String)
            let second = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(second.status == 4, "\(second.stderr)")
            #expect(second.stderr.contains("locked by deploy \(deployID)"), "\(second.stderr)")
            #expect(try first.wait() == 0)
            #expect(try vm.liveCommit() == target)
            vm.stopBot()
            try assertNoLineLost(vm)
        }
    }

    @Test("6. a target commit that tracks a file under a data dir is refused before any change")
    func aCommitTrackingDataIsRefused() throws {
        try withSandbox(bot: false) { vm in
            try vm.fillData(files: 5, bytesEach: 1024)
            let previous = try vm.liveCommit()
            let before = try vm.dataChecksums()
            try vm.commit(["paper_trading_outputs/history_0.jsonl": "oops, committed\n"], message: "track data",
                          forceAdd: true)
            let output = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(output.status == 1)
            #expect((try result(output)["error"] as? [String: Any])?["code"] as? String == "tracked_data")
            #expect(output.stderr.contains("paper_trading_outputs/history_0.jsonl"))
            #expect(try vm.liveCommit() == previous)
            #expect(try vm.dataChecksums() == before)
            let snapshots = (try? FileManager.default.contentsOfDirectory(atPath: vm.stateDir + "/snapshots")) ?? []
            #expect(snapshots.isEmpty, "no snapshot was taken")
        }
    }

    @Test("7. the second deploy of an unchanged 100 MB data dir copies (almost) nothing")
    func theSecondSnapshotLinksUnchangedFiles() throws {
        try withSandbox(bot: false) { vm in
            try vm.fillData(files: 1000, bytesEach: 100 * 1024)
            let first = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(first.status == 0, "\(first.stderr)")
            let firstSnapshot = try #require(try summary(first)["snapshot"] as? [String: Any])
            #expect(firstSnapshot["copied"] as? Int ?? 0 >= 1010)
            let second = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(second.status == 0, "\(second.stderr)")
            let snapshot = try #require(try summary(second)["snapshot"] as? [String: Any])
            let linked = snapshot["linked"] as? Int ?? 0
            let copied = snapshot["copied"] as? Int ?? 0
            let copiedBytes = snapshot["copiedBytes"] as? Int ?? 0
            #expect(linked >= 1010, "linked \(linked)")
            #expect(copied <= 3, "only the bot's own output and log changed; copied \(copied)")
            #expect(copiedBytes < 1 << 20, "copied \(copiedBytes) bytes")
            let phase = try #require(jsonLines(second.stdout).first {
                $0["type"] as? String == "phase" && $0["name"] as? String == "snapshot" && $0["state"] as? String == "completed"
            })
            #expect((phase["detail"] as? String)?.contains("linked") == true)
        }
    }
}
