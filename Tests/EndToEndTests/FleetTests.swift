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

    /// `snapshot GROUP`: a manual snapshot on every host, one `host` line each with its snapshot; then, one host
    /// down, the other still snapshotted and the fleet's exit status the unreachable host's (3).
    @Test func snapshotOnAGroupTakesOneOnEveryHostAndAnUnreachableOneIsExit3() throws {
        try withFleet(2) { vms, file in
            let result = try shipkeep(["snapshot", "fleet", "--app", "bots", "--config", file, "--json"])
            #expect(result.status == 0, "\(result.stderr)\n\(result.stdout)")
            let lines = jsonLines(result.stdout)
            let hosts = lines.filter { $0["type"] as? String == "host" }
            #expect(Set(hosts.compactMap { $0["target"] as? String }) == ["vm0", "vm1"], "\(result.stdout)")
            for host in hosts {
                let vm = vms[host["target"] as? String == "vm0" ? 0 : 1]
                let snapshot = (host["deploy"] as? [String: Any])?["snapshot"] as? [String: Any]
                let id = try #require(snapshot?["id"] as? String, "\(host)")
                let info = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(
                    fileURLWithPath: vm.snapshotDir + "/" + id + "/info.json"))) as? [String: Any]
                #expect(info?["origin"] as? String == "manual" && info?["outcome"] as? String == "succeeded",
                        "\(info ?? [:])")
                #expect(host["ok"] as? Bool == true && host["exitCode"] as? Int == 0)
            }
            let final = try #require(lines.last)
            #expect(final["type"] as? String == "result" && final["ok"] as? Bool == true, "\(final)")
            #expect((final["hosts"] as? [[String: Any]])?.count == 2)

            vms[1].server.stop()
            let partial = try shipkeep(["snapshot", "fleet", "--app", "bots", "--config", file])
            #expect(partial.status == 3, "\(partial.stderr)\n\(partial.stdout)")
            let text = partial.stdout.split(separator: "\n").map(String.init)
            #expect(text.first == "taking a snapshot on fleet: 2 hosts, 2 at a time", "\(text)")
            #expect(text.contains { $0.range(of: "✓ vm0 +[0-9.]+s +snapshot [0-9TZ]+-[0-9a-f]+(-[0-9]+)?( of [0-9a-f]{12})?$",
                                             options: .regularExpression) != nil }, "\(partial.stdout)")
            #expect(text.contains { $0.contains("✗ vm1") }, "\(partial.stdout)")
            #expect(text.last == "1 of 2 hosts snapshotted", "\(partial.stdout)")
            #expect(partial.stderr.contains("shipkeep: vm1: "), "\(partial.stderr)")
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
