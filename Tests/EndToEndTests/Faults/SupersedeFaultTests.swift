import Foundation
import Testing
import ShipkeepSandbox

/// Fault matrix, row group 8: more deploys of one app than can usefully run. At most one deploy runs and one
/// waits; a newer waiting request replaces the older one (which ends `superseded`, exit 4, naming its
/// replacement), and a waiting deploy of a commit the app has already moved past ends `superseded` too instead
/// of downgrading the app.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SupersedeFaultTests {
    /// The deploy workers of this sandbox's agent alive now, from /proc (other sandboxes' workers excluded).
    private func workers(_ vm: VMSandbox) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  processState(pid) != "Z" else { return false }
            let words = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return words.first?.hasSuffix("shipkeep-agent") == true && words.contains("worker")
                && words.contains(vm.agentConfigPath)
        }
    }

    /// How many times a bot has started, from the line each start writes to its log.
    private func botStarts(_ vm: VMSandbox) -> Int {
        let log = (try? String(contentsOfFile: vm.appPath + "/logs/bot.log", encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter { $0.hasPrefix("bot ") && $0.contains(" starting after seq ") }.count
    }

    private func code(_ output: String) -> String? {
        (Faults.result(output)?["error"] as? [String: Any])?["code"] as? String
    }

    private func message(_ output: String) -> String {
        (Faults.result(output)?["error"] as? [String: Any])?["message"] as? String ?? ""
    }

    private func deployID(_ output: String) -> String? {
        jsonLines(output).first { $0["type"] as? String == "started" }?["deploy"] as? String
    }

    @Test("25 deploy requests while one runs leave at most 2 workers; the replaced ones end superseded")
    func floodLeavesTwoWorkers() throws {
        try withSandbox(bot: false) { vm in
            let fixture = try Faults.prepare(vm)
            var commits: [String] = []
            for index in 1...25 {
                commits.append(try vm.commit(["bot.sh": SampleApp.bot(version: "v\(index + 2)")],
                                             message: "push \(index)"))
            }
            let first = try Faults.startPaused(vm, in: "snapshot", extra: ["--commit", fixture.target])
            let startsBefore = botStarts(vm)
            let flood = try commits.map { commit in
                try BackgroundShipkeep(["deploy", "--json", "--commit", commit, "--wait-lock", "300"]
                    + vm.controllerArguments)
            }
            // Each request replaces the one waiting before it: all but the last end on their own while the first
            // deploy is still stopped.
            try waitUntil("24 of the 25 requests end while the first deploy is paused", timeout: 90) {
                flood.filter { !$0.isRunning }.count >= 24
            }
            let settled = workers(vm)
            let waiting = flood.filter(\.isRunning)
            #expect(waiting.count == 1)
            #expect(settled.count <= 2, "workers left: \(settled)")
            let ended = flood.filter { !$0.isRunning }
            let endedStatuses = try ended.map { try $0.wait() }
            let codes = ended.map { code($0.output) ?? "none" }
            #expect(endedStatuses.allSatisfy { $0 == 4 }, "\(endedStatuses) \(codes)")
            #expect(codes.allSatisfy { $0 == "superseded" }, "\(codes)")
            let ids = Set(flood.compactMap { deployID($0.output) })
            let named = ended.filter { output in
                ids.contains { $0 != deployID(output.output) && message(output.output).contains($0) }
            }
            let sample = ended.map { message($0.output) }.prefix(3)
            #expect(named.count == ended.count, "each names the deploy that replaced it: \(sample)")

            first.resume()
            #expect(try first.controller.wait() == 0, "\(first.controller.errorOutput)")
            let last = try #require(waiting.first)
            let lastStatus = try last.wait()
            #expect(lastStatus == 0, "the request still waiting deploys after the first: \(last.output.suffix(600))")
            let live = try vm.liveCommit()
            let lastCommit = commits[try #require(flood.firstIndex { $0 === last })]
            #expect(live == lastCommit, "the newest waiting request's commit is live")
            let restarts = botStarts(vm) - startsBefore
            #expect(restarts <= 2, "the bot restarted \(restarts) times")
            let app = try Faults.appStatus(vm)
            #expect(app["lock"] == nil)
            let lost = try Faults.linesLost(vm)

            try ReliabilityRecord(
                section: "faults", id: "08-0", scenario: "25 deploy requests of one app while a deploy runs",
                injection: "a deploy paused in its snapshot; 25 `shipkeep deploy --commit C --wait-lock 300`, one per "
                    + "pushed commit, started at once; the first deploy resumed once 24 of them ended",
                outcome: "\(settled.count <= 2 ? "at most 2 workers left" : "\(settled.count) workers left"); "
                    + "\(ended.count) ended with \(HostileOutcome.exits(endedStatuses)), "
                    + "\(HostileOutcome.codes(codes)); the last one waiting exit \(lastStatus), its commit live; "
                    + "bot restarted \(restarts <= 2 ? "at most twice" : "\(restarts) times"); "
                    + Faults.lockState(app),
                linesLost: lost, test: "SupersedeFaultTests/floodLeavesTwoWorkers()"
            ).write()
        }
    }

    @Test("two deploys wait: the newer request replaces the older, and its commit stays live")
    func newerWaitingRequestReplacesTheOlder() throws {
        try withSandbox(bot: false) { vm in
            let fixture = try Faults.prepare(vm)
            let older = try vm.commit(["bot.sh": SampleApp.bot(version: "v3")], message: "v3")
            let newer = try vm.commit(["bot.sh": SampleApp.bot(version: "v4")], message: "v4")
            let first = try Faults.startPaused(vm, in: "snapshot", extra: ["--commit", fixture.target])
            let waitingOlder = try BackgroundShipkeep(["deploy", "--json", "--commit", older, "--wait-lock", "60"]
                + vm.controllerArguments)
            try waitingOlder.waitForLine { $0.contains("waiting_for_lock") }
            let waitingNewer = try BackgroundShipkeep(["deploy", "--json", "--commit", newer, "--wait-lock", "120"]
                + vm.controllerArguments)
            try waitingNewer.waitForLine { $0.contains("waiting_for_lock") }
            let olderStatus = try waitingOlder.wait()
            let newerID = try #require(deployID(waitingNewer.output))
            #expect(olderStatus == 4 && code(waitingOlder.output) == "superseded", "\(waitingOlder.output.suffix(600))")
            #expect(message(waitingOlder.output).contains(newerID), "\(message(waitingOlder.output))")

            first.resume()
            #expect(try first.controller.wait() == 0)
            let newerStatus = try waitingNewer.wait()
            #expect(newerStatus == 0, "\(waitingNewer.output.suffix(600))")
            let live = try vm.liveCommit()
            #expect(live == newer)
            let app = try Faults.appStatus(vm)
            let lost = try Faults.linesLost(vm)

            try ReliabilityRecord(
                section: "faults", id: "08-1", scenario: "two deploys wait for the lock, the older commit first",
                injection: "a deploy paused in its snapshot; `--wait-lock` deploys of an older, then a newer commit; "
                    + "the first deploy resumed",
                outcome: "older request exit \(olderStatus), \(code(waitingOlder.output) ?? "none") (naming the "
                    + "newer); newer request exit \(newerStatus); "
                    + (live == newer ? "newer commit live" : "commit \(live.prefix(12)) live") + "; "
                    + Faults.lockState(app),
                linesLost: lost, test: "SupersedeFaultTests/newerWaitingRequestReplacesTheOlder()"
            ).write()
        }
    }

    @Test("a waiting deploy of a commit older than the one that went live meanwhile ends superseded")
    func waitingDeployNeverDowngrades() throws {
        try withSandbox(bot: false) { vm in
            let fixture = try Faults.prepare(vm)
            let newer = try vm.commit(["bot.sh": SampleApp.bot(version: "v3")], message: "v3")
            // Two laptops: one deploys the newer commit and takes the lock, the other waits with the older one.
            let first = try Faults.startPaused(vm, in: "snapshot", extra: ["--commit", newer, "--wait-lock", "120"])
            let older = try BackgroundShipkeep(["deploy", "--json", "--commit", fixture.target, "--wait-lock", "120"]
                + vm.controllerArguments)
            try older.waitForLine { $0.contains("waiting_for_lock") }
            first.resume()
            let firstStatus = try first.controller.wait()
            let olderStatus = try older.wait()
            #expect(firstStatus == 0)
            #expect(olderStatus == 4 && code(older.output) == "superseded", "\(older.output.suffix(600))")
            #expect(message(older.output).contains(first.deploy), "\(message(older.output))")
            let live = try vm.liveCommit()
            #expect(live == newer, "the app was not downgraded")
            let app = try Faults.appStatus(vm)
            #expect(Faults.lastOutcome(app) == "succeeded")
            let lost = try Faults.linesLost(vm)

            try ReliabilityRecord(
                section: "faults", id: "08-2", scenario: "a deploy waits with a commit older than the one deployed "
                    + "while it waits",
                injection: "`--wait-lock` deploy of commit C+1 paused in its snapshot; `--wait-lock` deploy of its "
                    + "parent C; the first resumed",
                outcome: "first exit \(firstStatus); the waiting one exit \(olderStatus), "
                    + "\(code(older.output) ?? "none"); "
                    + (live == newer ? "newer commit still live" : "commit \(live.prefix(12)) live") + "; "
                    + Faults.lockState(app),
                linesLost: lost, test: "SupersedeFaultTests/waitingDeployNeverDowngrades()"
            ).write()
        }
    }
}
