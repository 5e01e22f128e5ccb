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

    /// A bot that starts, writes and crashes a moment later passes every check once; with `health.settle`
    /// the checks must keep passing, so the commit is rolled back and the old bot runs again.
    @Test func aBotThatCrashesAMomentAfterStartingIsRolledBackWithSettle() throws {
        try withSandbox(bot: true) { vm in
            try vm.writeAgentConfig(healthTimeout: 5, healthSettle: 2)
            let previous = try vm.liveCommit()
            let crashing = """
                #!/usr/bin/env bash
                cd "$(dirname "$0")"
                for step in 1 2 3 4 5 6; do
                  echo "{\\"v2\\":$step}" >> paper_trading_outputs/v2-start.jsonl
                  sleep 0.05
                done
                echo "v2: cannot reach the exchange" >&2
                exit 1
                """
            try vm.commit(["bot.sh": crashing], message: "v2 crashes after its first write")
            let output = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(output.status == 1, "\(output.stderr)")
            #expect(try summary(output)["outcome"] as? String == "rolled_back", "\(output.stdout)")
            #expect(try vm.liveCommit() == previous)
            #expect(try runProcess([vm.appPath + "/check.sh"]).status == 0, "the old bot runs again after the rollback")
            vm.stopBot()
            try assertNoLineLost(vm)
        }
    }

    // 3 and 4 (the controller killed mid-deploy, the worker killed in each phase) grew into the fault matrix:
    // Faults/ControllerKillFaultTests.swift and Faults/WorkerKillFaultTests.swift.

    @Test("5. two deploys at once: the second is refused naming the holder")
    func concurrentDeploysAreSerializedByTheLock() throws {
        try withSandbox(bot: true) { vm in
            let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            // The first deploy holds the lock, stopped in its update until the second has been refused.
            let first = try Faults.startPaused(vm, in: "update")
            let second = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(second.status == 4, "\(second.stderr)")
            #expect(second.stderr.contains("locked by deploy \(first.deploy)"), "\(second.stderr)")
            #expect(second.stderr.contains("follow the running deploy with `shipkeep attach --host "), "\(second.stderr)")
            first.resume()
            #expect(try first.controller.wait() == 0)
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
