import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep history` through a real sshd: a deploy, a rollback, a restore and a recovery, newest first, each
/// with who asked, the commits, the outcome, the duration and the snapshot.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct HistoryEndToEndTests {
    private func records(_ output: ProcessResult) -> [[String: Any]] {
        jsonLines(output.stdout).filter { $0["type"] as? String == "history" }
    }

    @Test("a deploy, a rollback, a restore and a recovery, newest first")
    func historyTellsWhatWasDone() throws {
        try withSandbox(bot: true) { vm in
            let empty = try shipkeep(["history"] + vm.controllerArguments)
            #expect(empty.status == 0 && empty.stdout.contains("no history of bots yet"), "\(empty.stdout)")

            let v1 = try vm.liveCommit()
            let v2 = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deploy = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(deploy.status == 0, "\(deploy.stderr)")
            let rollback = try shipkeep(["rollback"] + vm.controllerArguments)
            #expect(rollback.status == 0, "\(rollback.stderr)")
            let listed = try shipkeep(["snapshots", "--json"] + vm.controllerArguments)
            let list = jsonLines(listed.stdout).first(where: { $0["type"] as? String == "snapshots" })
            let snapshot = try #require((list?["snapshots"] as? [[String: Any]])?.first?["id"] as? String)
            let restore = try shipkeep(["restore", "--snapshot", snapshot] + vm.controllerArguments)
            #expect(restore.status == 0, "\(restore.stderr)")
            // A deploy whose worker is killed in update: the agent recovers it.
            try vm.commit(["bot.sh": SampleApp.bot(version: "v3")], message: "v3")
            let paused = try Faults.startPaused(vm, in: "update")
            paused.controller.kill(SIGKILL)
            kill(paused.worker, SIGKILL)
            try waitUntil("the app is recovered") { Faults.lastOutcome(try Faults.appStatus(vm)) == "recovered" }

            let output = try shipkeep(["history", "--json"] + vm.controllerArguments)
            #expect(output.status == 0, "\(output.stderr)")
            #expect(jsonLines(output.stdout).last?["type"] as? String == "result")
            let found = records(output)
            #expect(found.map { $0["action"] as? String } == ["recovery", "restore", "rollback", "deploy"],
                    "\(output.stdout)")
            guard found.count == 4 else { return }
            let (recovered, restored, rolledBack, deployed) = (found[0], found[1], found[2], found[3])
            let me = try #require(deployed["who"] as? String)
            #expect(me.contains("@"), "the controller identity: \(me)")
            #expect(deployed["before"] as? String == v1 && deployed["after"] as? String == v2)
            #expect(deployed["outcome"] as? String == "succeeded")
            #expect((deployed["duration"] as? Double ?? 0) > 0)
            #expect(deployed["snapshot"] is String && deployed["deploy"] is String)
            #expect(rolledBack["before"] as? String == v2 && rolledBack["after"] as? String == v1)
            #expect(rolledBack["who"] as? String == me && rolledBack["outcome"] as? String == "succeeded")
            #expect(restored["snapshot"] as? String == snapshot && restored["who"] as? String == me)
            #expect(restored["outcome"] as? String == "succeeded")
            #expect(recovered["outcome"] as? String == "recovered" && recovered["deploy"] as? String == paused.deploy)
            #expect(recovered["who"] as? String == "shipkeep-agent recovery")
            #expect((recovered["detail"] as? String)?.contains("died during update") == true)

            let two = try shipkeep(["history", "-n", "2", "--json"] + vm.controllerArguments)
            #expect(records(two).map { $0["action"] as? String } == ["recovery", "restore"])

            let table = try shipkeep(["history"] + vm.controllerArguments)
            let lines = table.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("TIME") == true && lines.first?.contains("WHO") == true, "\(table.stdout)")
            let rows = lines.filter { !$0.hasPrefix(" ") }.dropFirst()
            #expect(rows.map { $0.split(separator: " ")[1] } == ["recovery", "restore", "rollback", "deploy"],
                    "\(table.stdout)")
            #expect(table.stdout.contains("\(v1.prefix(12)) → \(v2.prefix(12))"))
        }
    }
}
