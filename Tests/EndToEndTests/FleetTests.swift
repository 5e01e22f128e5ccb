import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep deploy GROUP`: several real sshd VMs, canaries first, the rest in parallel, a table at the end.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct FleetTests {
    @Test func canaryThenTheRestInParallelAllAtTheSameCommit() throws {
        try withFleet(4) { vms, file in
            let before = try vms.map { try $0.liveCommit() }
            let target = try vms[0].commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let result = try shipkeep(["deploy", "fleet", "--config", file, "--canary", "1", "--parallel", "2"])
            #expect(result.status == 0, "\(result.stderr)\n\(result.stdout)")
            for vm in vms { #expect(try vm.liveCommit() == target) }
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "deploying to fleet: 4 hosts, 1 canary host(s) first, then 2 at a time", "\(lines)")
            #expect(lines.last == "all 4 hosts deployed")
            for (index, vm) in vms.enumerated() {
                let row = "^vm\(index) +\(vm.server.user)@\(vm.server.listenAddress):\(vm.server.port) +"
                    + "\(before[index].prefix(12)) → \(target.prefix(12)) +[0-9.]+s +succeeded$"
                #expect(lines.contains { $0.range(of: row, options: .regularExpression) != nil },
                        "no row \(row) in\n\(result.stdout)")
            }
            // The canary went first: the other hosts started only after it finished.
            let vm0 = try #require(lines.firstIndex { $0.contains("✓ vm0") })
            #expect(lines.indices.filter { lines[$0].contains("✓ vm") }.allSatisfy { $0 >= vm0 })
        }
    }

    @Test func aFailingCanaryStopsTheRolloutAndTheOthersAreUntouched() throws {
        try withFleet(3) { vms, file in
            try vms[0].writeAgentConfig(hooks: [["false"]])
            let before = try vms.map { try $0.liveCommit() }
            try vms[0].commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let result = try shipkeep(["deploy", "fleet", "--config", file, "--canary", "1", "--json"])
            #expect(result.status == 1, "\(result.stderr)")
            for (index, vm) in vms.enumerated() { #expect(try vm.liveCommit() == before[index]) }
            let hosts = jsonLines(result.stdout).filter { $0["type"] as? String == "host" }
            #expect(hosts.count == 3)
            #expect(hosts.first { $0["target"] as? String == "vm0" }?["outcome"] as? String == "rolled_back")
            #expect(hosts.filter { $0["outcome"] as? String == "skipped" }.count == 2)
            let final = try #require(jsonLines(result.stdout).last)
            #expect(final["type"] as? String == "result" && final["ok"] as? Bool == false && final["exitCode"] as? Int == 1)
            #expect((final["hosts"] as? [[String: Any]])?.count == 3)
        }
    }

    /// The branch moves after the canary deployed it: the rest of the fleet still gets exactly the canary's
    /// commit, not the new tip. The canary's own after_update hook moves `main` on the shared origin, so the
    /// move lands between the canary's fetch and the others' deploys every time.
    @Test func theRestOfTheFleetGetsTheCanarysCommitEvenIfTheBranchMovesMeanwhile() throws {
        try withFleet(3) { vms, file in
            let canaryCommit = try vms[0].commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let racing = try vms[0].commit(["bot.sh": SampleApp.bot(version: "v3")], message: "v3, pushed mid-rollout")
            let reset = try runProcess(["git", "-C", vms[0].origin, "update-ref", "refs/heads/main", canaryCommit])
            #expect(reset.status == 0, "\(reset.stderr)")
            try vms[0].writeAgentConfig(hooks: [["git", "-C", vms[0].origin, "update-ref", "refs/heads/main", racing]])
            let result = try shipkeep(["deploy", "fleet", "--config", file, "--canary", "1", "--parallel", "2"])
            #expect(result.status == 0, "\(result.stderr)\n\(result.stdout)")
            let tip = try runProcess(["git", "-C", vms[0].origin, "rev-parse", "refs/heads/main"])
            #expect(tip.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == racing, "the hook did not move main")
            for vm in vms { #expect(try vm.liveCommit() == canaryCommit) }
        }
    }

    @Test func anUnreachableHostDoesNotStopTheOthers() throws {
        try withFleet(3) { vms, file in
            vms[2].server.stop()
            let target = try vms[0].commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let result = try shipkeep(["deploy", "fleet", "--config", file, "--parallel", "3", "--commit", target])
            #expect(result.status == 3, "\(result.stderr)\n\(result.stdout)")
            #expect(try vms[0].liveCommit() == target)
            #expect(try vms[1].liveCommit() == target)
            #expect(result.stdout.contains("2 of 3 hosts deployed"), "\(result.stdout)")
            #expect(result.stderr.contains("shipkeep: vm2: "), "\(result.stderr)")
        }
    }
}
