import Foundation
import Testing
import ShipkeepSandbox

/// The defaults catch a bot that dies a moment after it starts: `init` writes health.settle and a freshness
/// check, freshness counts only what changed after the restart, and an app with no check at all is told so.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct LateCrashTests {
    private func result(_ output: ProcessResult) throws -> [String: Any] {
        try #require(jsonLines(output.stdout).last { $0["type"] as? String == "result" }, "\(output.stdout)")
    }

    /// A new bot that starts, writes for a while and crashes ~1.5 s later, deployed with nothing but what
    /// `shipkeep init` wrote (no health flags given): rolled back, exit 1, and the old bot runs again.
    @Test func aLateCrashIsRolledBackWithTheConfigInitWrites() throws {
        try withSandbox(bot: true) { vm in
            let dir = vm.root + "/project"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let written = try shipkeep([
                "init", "--output-dir", dir,
                "--host", vm.server.listenAddress, "--port", String(vm.server.port), "--user", vm.server.user,
                "--app", vm.appName, "--identity", vm.server.userKeyPath, "--known-hosts", vm.server.knownHostsPath,
                "--path", vm.appPath, "--state", vm.stateDir, "--data", "paper_trading_outputs", "--data", "logs",
                "--restart", "./restart.sh", "--check", "./check.sh",
            ])
            #expect(written.status == 0, "\(written.stderr)")
            let agentYAML = try String(contentsOfFile: dir + "/agent.yml", encoding: .utf8)
            #expect(agentYAML.contains("settle: 3") && agentYAML.contains("fresh: { path: paper_trading_outputs"),
                    "\(agentYAML)")
            try agentYAML.write(toFile: vm.agentConfigPath, atomically: true, encoding: .utf8)
            let previous = try vm.liveCommit()
            let crashing = """
                #!/usr/bin/env bash
                cd "$(dirname "$0")"
                for step in $(seq 1 30); do
                  echo "{\\"v2\\":$step}" >> paper_trading_outputs/v2.jsonl
                  sleep 0.05
                done
                echo "v2: lost the exchange connection" >&2
                exit 1
                """
            try vm.commit(["bot.sh": crashing], message: "v2 crashes 1.5 s after starting")
            let output = try shipkeep(["deploy", "prod", "--config", dir + "/shipkeep.yml", "--json"])
            #expect(output.status == 1, "\(output.stderr)\n\(output.stdout.suffix(1500))")
            let deploy = try #require(try result(output)["deploy"] as? [String: Any])
            #expect(deploy["outcome"] as? String == "rolled_back", "\(output.stdout.suffix(1500))")
            #expect(try vm.liveCommit() == previous)
            #expect(try runProcess([vm.appPath + "/check.sh"]).status == 0, "the old bot runs again after the rollback")
            vm.stopBot()
        }
    }

    /// Data whose file times run ahead of the VM's clock (a file server's clock) is not "fresh" by that alone:
    /// a new bot that never writes is rolled back although a data file's time is later than the restart.
    @Test func fileTimesAheadOfTheClockDoNotPassForFreshWrites() throws {
        try withSandbox(bot: true) { vm in
            let previous = try vm.liveCommit()
            try vm.commit(["bot.sh": "#!/usr/bin/env bash\nexec sleep 600\n"], message: "v2 never writes")
            let ahead = vm.appPath + "/paper_trading_outputs/written-by-a-clock-ahead.json"
            try "{}\n".write(toFile: ahead, atomically: true, encoding: .utf8)
            let future = Date().addingTimeInterval(120)
            try FileManager.default.setAttributes([.modificationDate: future], ofItemAtPath: ahead)
            let output = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(output.status == 1, "\(output.stderr)\n\(output.stdout.suffix(1500))")
            let final = try result(output)
            #expect((final["deploy"] as? [String: Any])?["outcome"] as? String == "rolled_back")
            let message = (final["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("nothing under paper_trading_outputs was written since the restart"), "\(message)")
            #expect(try vm.liveCommit() == previous)
            vm.stopBot()
        }
    }

    /// An app with no service check, no health command and no freshness check: the deploy says so, once.
    @Test func anAppWithNoHealthCheckIsToldSoOnce() throws {
        try withSandbox(bot: true) { vm in
            let yaml = try String(contentsOfFile: vm.agentConfigPath, encoding: .utf8)
            let unchecked = yaml.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.contains("check: [") && !$0.contains("fresh: {") }.joined(separator: "\n")
            try unchecked.write(toFile: vm.agentConfigPath, atomically: true, encoding: .utf8)
            let human = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(human.status == 0, "\(human.stderr)")
            let warnings = human.stdout.split(separator: "\n").filter { $0.contains("has no health check") }
            #expect(warnings.count == 1, "\(human.stdout)")

            try yaml.write(toFile: vm.agentConfigPath, atomically: true, encoding: .utf8)
            let checked = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(checked.status == 0 && !checked.stdout.contains("has no health check"), "\(checked.stdout)")
            vm.stopBot()
        }
    }
}
