import Foundation
import Testing
import ShipkeepSandbox

/// `rollback` goes to the last commit that differed from the live one, and `rollback`, `attach` and
/// `snapshots` take a group of shipkeep.yml as `deploy` does.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct RollbackTests {
    @Test func aRedeployOfTheLiveCommitDoesNotHideTheCommitBeforeIt() throws {
        try withSandbox(bot: true) { vm in
            let v1 = try vm.liveCommit()
            let v2 = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deployed = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(deployed.status == 0, "\(deployed.stderr)")
            // The only way to restart the bot today: deploy the live commit again, twice.
            for _ in 0..<2 {
                let again = try shipkeep(["deploy", "--commit", v2] + vm.controllerArguments)
                #expect(again.status == 0, "\(again.stderr)")
            }
            let rollback = try shipkeep(["rollback", "--json"] + vm.controllerArguments)
            #expect(rollback.status == 0, "\(rollback.stderr)\n\(rollback.stdout.suffix(1500))")
            #expect(try vm.liveCommit() == v1)
            let summary = try #require(jsonLines(rollback.stdout).last?["deploy"] as? [String: Any])
            #expect(summary["previousCommit"] as? String == v2 && summary["commit"] as? String == v1)
            // A rollback is a deploy: rolling back again returns to v2.
            let back = try shipkeep(["rollback"] + vm.controllerArguments)
            #expect(back.status == 0, "\(back.stderr)")
            #expect(try vm.liveCommit() == v2)
        }
    }

    @Test func aRefusedDeployDoesNotHideItEither() throws {
        try withSandbox(bot: true) { vm in
            let v1 = try vm.liveCommit()
            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            #expect(try shipkeep(["deploy"] + vm.controllerArguments).status == 0)
            // A commit that tracks a file in a data dir is refused, after its target was resolved.
            try vm.commit(["logs/committed.log": "x\n"], message: "tracks a data file", forceAdd: true)
            let refused = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(refused.status == 1 && refused.stderr.contains("tracks"), "\(refused.stderr)")
            let rollback = try shipkeep(["rollback"] + vm.controllerArguments)
            #expect(rollback.status == 0, "\(rollback.stderr)")
            #expect(try vm.liveCommit() == v1)
        }
    }

    @Test func rollbackAttachAndSnapshotsTakeAGroup() throws {
        try withFleet(2) { vms, file in
            let before = try vms.map { try $0.liveCommit() }
            let v2 = try vms[0].commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deployed = try shipkeep(["deploy", "fleet", "--config", file])
            #expect(deployed.status == 0, "\(deployed.stderr)\n\(deployed.stdout)")
            for vm in vms { #expect(try vm.liveCommit() == v2) }

            let rollback = try shipkeep(["rollback", "fleet", "--config", file, "--parallel", "2"])
            #expect(rollback.status == 0, "\(rollback.stderr)\n\(rollback.stdout)")
            for (index, vm) in vms.enumerated() { #expect(try vm.liveCommit() == before[index]) }
            let lines = rollback.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "rolling back fleet: 2 hosts, 2 at a time", "\(lines)")
            #expect(lines.last == "all 2 hosts rolled back", "\(lines)")
            for (index, vm) in vms.enumerated() {
                let row = "^vm\(index) +\(vm.server.user)@\(vm.server.listenAddress):\(vm.server.port) +"
                    + "\(v2.prefix(12)) → \(before[index].prefix(12)) +[0-9.]+s +succeeded$"
                #expect(lines.contains { $0.range(of: row, options: .regularExpression) != nil },
                        "no row \(row) in\n\(rollback.stdout)")
            }

            let attach = try shipkeep(["attach", "fleet", "--config", file, "--json"])
            #expect(attach.status == 0, "\(attach.stderr)")
            let attached = jsonLines(attach.stdout).filter { $0["type"] as? String == "host" }
            #expect(attached.count == 2)
            for host in attached {
                let index = try #require(Int(String((host["target"] as? String ?? "").dropFirst(2))))
                #expect(host["outcome"] as? String == "succeeded", "\(host)")
                #expect((host["deploy"] as? [String: Any])?["liveCommit"] as? String == before[index], "\(host)")
            }
            #expect(try shipkeep(["attach", "fleet", "--config", file, "--deploy", "d-1"]).status == 64)

            let snapshots = try shipkeep(["snapshots", "fleet", "--config", file, "--json"])
            #expect(snapshots.status == 0, "\(snapshots.stderr)")
            let hosts = jsonLines(snapshots.stdout).filter { $0["type"] as? String == "host" }
            #expect(hosts.count == 2)
            for host in hosts {
                // The deploy and the rollback took one each.
                #expect((host["snapshots"] as? [[String: Any]])?.count == 2, "\(host)")
            }
            let human = try shipkeep(["snapshots", "fleet", "--config", file])
            #expect(human.status == 0, "\(human.stderr)")
            for (index, vm) in vms.enumerated() {
                #expect(human.stdout.contains("vm\(index) (\(vm.server.user)@\(vm.server.listenAddress):"
                    + "\(vm.server.port)): 2 snapshot(s)"), "\(human.stdout)")
            }
            #expect(human.stdout.hasSuffix("all 2 hosts listed\n"), "\(human.stdout)")

            // A command that takes no group says which do.
            let unlock = try shipkeep(["unlock", "fleet", "--config", file, "--deploy", "d-1"])
            #expect(unlock.stderr.contains("only deploy, rollback, attach, snapshots and status take a group"),
                    "\(unlock.stderr)")
        }
    }
}
