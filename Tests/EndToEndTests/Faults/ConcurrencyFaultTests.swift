import Foundation
import Testing
import ShipkeepSandbox

/// Fault matrix, row group 6: five deploys started at once against one app (five pushes to main, each with
/// its CI job). With `--wait-lock` one runs and one waits: each later request replaces the one waiting before
/// it (which ends `superseded`, exit 4), so the app ends at the commit of the last request to arrive, deployed
/// once after the first, and the data is whole.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ConcurrencyFaultTests {
    @Test("five deploys at once with --wait-lock: the first runs, then the last to arrive; three are superseded")
    func fiveDeploysAtOnce() throws {
        try withSandbox(bot: false) { vm in
            try vm.writeAgentConfig(keep: 6)
            try vm.fillData(files: 20, bytesEach: 64 * 1024)
            var commits: [String] = []
            for index in 1...5 {
                commits.append(try vm.commit(["bot.sh": SampleApp.bot(version: "v\(index + 1)")],
                                             message: "push \(index)"))
            }
            try vm.startBot()
            let checksums = try vm.dataChecksums()
            // The first deploy to take the lock stops itself in its snapshot and is let go only once the other
            // four have queued behind it, so they do overlap however fast (or staggered by load) each one is.
            try vm.pauseNextDeploy(in: "snapshot")
            func deploy(_ commit: String) throws -> BackgroundShipkeep {
                try BackgroundShipkeep(["deploy", "--json", "--commit", commit, "--wait-lock", "180"]
                    + vm.controllerArguments)
            }
            func inSnapshot(_ output: String) -> Bool {
                jsonLines(output).contains {
                    $0["type"] as? String == "phase" && $0["name"] as? String == "snapshot"
                        && $0["state"] as? String == "started"
                }
            }
            // The oldest push's deploy takes the lock first (had a newer one, the older waiting ones would end
            // superseded by the no-downgrade rule instead, and the row would depend on the race); the four
            // newer ones then arrive at once while it holds the lock.
            let first = try deploy(commits[0])
            try waitUntil("the first deploy holds the lock in its snapshot", timeout: 120) { inSnapshot(first.output) }
            let controllers = try [first] + commits.dropFirst().map(deploy)
            try waitUntil("one deploy holds the lock in its snapshot, one waits, three were replaced", timeout: 120) {
                controllers.filter { inSnapshot($0.output) }.count == 1
                    && controllers.filter { !$0.isRunning }.count == 3
            }
            let holder = try #require(controllers.first { inSnapshot($0.output) })
            let waiter = try #require(controllers.first { $0 !== holder && $0.isRunning })
            let started = try #require(jsonLines(holder.output).first { $0["type"] as? String == "started" })
            let worker = Int32(try #require(started["pid"] as? Int))
            try waitUntil("the first worker stops in its snapshot") { processState(worker) == "T" }
            kill(worker, SIGCONT)
            let statuses = try controllers.map { try $0.wait() }
            let outputs = controllers.map(\.output)
            let results = outputs.compactMap { Faults.result($0) }
            let outcomes = results.compactMap { ($0["deploy"] as? [String: Any])?["outcome"] as? String }
            let ran = controllers.enumerated().filter { $0.element === holder || $0.element === waiter }.map(\.offset)
            #expect(ran.map { statuses[$0] } == [0, 0], "\(controllers.map(\.errorOutput))")
            #expect(outcomes.filter { $0 == "succeeded" }.count == 2, "\(outcomes)")
            #expect(outcomes.filter { $0 == "superseded" }.count == 3, "\(outcomes)")
            #expect(statuses.filter { $0 == 4 }.count == 3, "the replaced requests exit 4: \(statuses)")
            let waited = outputs.filter { $0.contains("\"code\":\"waiting_for_lock\"") }.count
            #expect(waited >= 1, "the deploy that ran second waited for the first")

            // One at a time: the two deploys that ran did not overlap.
            let spans = try results.filter { ($0["deploy"] as? [String: Any])?["outcome"] as? String == "succeeded" }
                .map { result -> (Date, Date) in
                    let deploy = try #require((result["deploy"] as? [String: Any])?["deploy"] as? String)
                    return try journalSpan(vm, deploy)
                }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
            // Snapshot times are whole seconds, hence the second of slack; spans that start in the same second
            // are ordered by their (exact) ends, so that two deploys one after another within a second are
            // not compared in the wrong order.
            let overlaps = zip(spans, spans.dropFirst()).filter { $0.1 > $1.0.addingTimeInterval(1) }.count
            #expect(overlaps == 0, "deploys overlapped: \(spans)")

            let live = try vm.liveCommit()
            let waiterCommit = commits[try #require(controllers.firstIndex { $0 === waiter })]
            #expect(live == waiterCommit, "the last request to arrive is live")
            let app = try Faults.appStatus(vm)
            #expect((app["lastDeploy"] as? [String: Any])?["commit"] as? String == live)
            #expect(app["lock"] == nil)
            let lost = try Faults.linesLost(vm)
            #expect(try vm.dataChecksums() == checksums)

            try ReliabilityRecord(
                section: "faults", id: "06-0", scenario: "five deploys of one app started at once",
                injection: "five `shipkeep deploy --commit C --wait-lock 180`, one per pushed commit: the oldest's "
                    + "paused in its snapshot, holding the lock, while the four newer ones start together",
                outcome: "\(outcomes.filter { $0 == "succeeded" }.count) succeeded one after another "
                    + "(\(overlaps) overlaps), \(outcomes.filter { $0 == "superseded" }.count) superseded "
                    + "(\(HostileOutcome.exits(statuses.filter { $0 != 0 }))); final commit "
                    + "\(live == waiterCommit ? "the last request's" : "not the last request's"); "
                    + Faults.lockState(app),
                linesLost: lost, test: "ConcurrencyFaultTests/fiveDeploysAtOnce()"
            ).write()
        }
    }

    @Test("a deploy killed while it waits for the lock: attach follows it, then says nothing was changed")
    func workerKilledWhileWaiting() throws {
        try withSandbox(bot: false) { vm in
            let fixture = try Faults.prepare(vm)
            let first = try Faults.startPaused(vm, in: "update")
            // A bounded wait that runs out ends as a plain refusal: exit 4, naming the holder.
            let impatient = try shipkeep(["deploy", "--wait-lock", "1"] + vm.controllerArguments)
            #expect(impatient.status == 4, "\(impatient.stderr)")
            #expect(impatient.stderr.contains("locked by deploy \(first.deploy)"), "\(impatient.stderr)")
            let second = try BackgroundShipkeep(["deploy", "--json", "--wait-lock", "120"] + vm.controllerArguments)
            let started = try second.waitForLine { $0.contains("\"type\":\"started\"") }
            let worker = Int32(try #require(jsonLines(started).first?["pid"] as? Int))
            let deploy = try #require(jsonLines(started).first?["deploy"] as? String)
            try second.waitForLine { $0.contains("waiting_for_lock") }
            // attach must take a worker that waits for the lock for a live one, not a dead one.
            let attach = try BackgroundShipkeep(["attach", "--json", "--deploy", deploy] + vm.controllerArguments)
            try attach.waitForLine { $0.contains("waiting_for_lock") }
            kill(worker, SIGKILL)
            let attachStatus = try attach.wait()
            let attachCode = (Faults.result(attach.output)?["error"] as? [String: Any])?["code"] as? String ?? "none"
            #expect(attachCode == "not_started", "\(attach.output.suffix(800))")
            #expect(attachStatus == 1, "failed, nothing changed")
            let secondStatus = try second.wait()
            let secondCode = (Faults.result(second.output)?["error"] as? [String: Any])?["code"] as? String ?? "none"
            #expect(secondCode == "not_started" && secondStatus == 1, "\(second.output.suffix(800))")

            first.resume()
            #expect(try first.controller.wait() == 0)
            let app = try Faults.appStatus(vm)
            #expect(Faults.lastOutcome(app) == "succeeded", "the last deploy is the first one, which ran")
            #expect(app["lock"] == nil)
            #expect(try vm.liveCommit() == fixture.target)
            let lost = try Faults.linesLost(vm)
            #expect(try vm.dataChecksums() == fixture.checksums)

            try ReliabilityRecord(
                section: "faults", id: "06-1", scenario: "a deploy killed while it waits for the lock",
                injection: "first deploy paused in update; second started with --wait-lock; attach to the second; "
                    + "`kill -9` of the second's worker; first resumed",
                outcome: "second deploy and its attach exit \(secondStatus)/\(attachStatus), "
                    + "\(secondCode)/\(attachCode); first: status \(Faults.lastOutcome(app)); "
                    + "\(try Faults.codeAt(vm, fixture)); \(Faults.lockState(app))",
                linesLost: lost, test: "ConcurrencyFaultTests/workerKilledWhileWaiting()"
            ).write()
        }
    }

    /// When the deploy held the lock, near enough: from its snapshot's creation (the worker snapshots only
    /// once it holds the lock; recorded to the second) to the last write of its journal (its result).
    private func journalSpan(_ vm: VMSandbox, _ deploy: String) throws -> (Date, Date) {
        let journal = vm.stateDir + "/deploys/" + deploy + ".jsonl"
        let end = try #require(try FileManager.default.attributesOfItem(atPath: journal)[.modificationDate] as? Date)
        for id in try FileManager.default.contentsOfDirectory(atPath: vm.snapshotDir) {
            guard let data = FileManager.default.contents(atPath: vm.snapshotDir + "/" + id + "/manifest.json"),
                  let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let info = manifest["info"] as? [String: Any], info["deploy"] as? String == deploy,
                  let created = info["createdAt"] as? String,
                  let start = ISO8601DateFormatter().date(from: created) else { continue }
            return (start, end)
        }
        throw SandboxError("no snapshot of deploy \(deploy) in \(vm.snapshotDir)")
    }
}
