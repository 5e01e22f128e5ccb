import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep init` writes files the tools accept: deploying with nothing but what it wrote works.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct InitTests {
    @Test func theWrittenFilesDeployTheSandboxApp() throws {
        try withSandbox(bot: true) { vm in
            let dir = vm.root + "/project"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let written = try shipkeep([
                "init", "--output-dir", dir, "--target", "staging",
                "--host", vm.server.listenAddress, "--port", String(vm.server.port), "--user", vm.server.user,
                "--app", vm.appName, "--identity", vm.server.userKeyPath, "--known-hosts", vm.server.knownHostsPath,
                "--path", vm.appPath, "--state", vm.stateDir, "--data", "paper_trading_outputs", "--data", "logs",
                "--restart", "./restart.sh", "--check", "./check.sh", "--fresh-within", "10",
                "--hook", "git log -1 --format=%H",
            ])
            #expect(written.status == 0, "\(written.stderr)")
            #expect(written.stdout.contains("shipkeep install staging"))
            // The agent on the sandbox VM now reads the agent.yml init wrote.
            let agentYAML = try String(contentsOfFile: dir + "/agent.yml", encoding: .utf8)
            #expect(agentYAML.contains("after_update:\n        - [git, log, \"-1\", \"--format=%H\"]"), "\(agentYAML)")
            try agentYAML.write(toFile: vm.agentConfigPath, atomically: true, encoding: .utf8)
            let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deployed = try shipkeep(["deploy", "staging", "--config", dir + "/shipkeep.yml", "--json"])
            #expect(deployed.status == 0, "\(deployed.stderr)\n\(deployed.stdout.suffix(1500))")
            #expect(try vm.liveCommit() == target)
            #expect(deployed.stdout.contains(target), "the hook's output (the new commit) is in the log")
            vm.stopBot()

            let again = try shipkeep(["init", "--output-dir", dir, "--host", "vm", "--app", "bots", "--path", "/srv/bots"])
            #expect(again.status == 1 && again.stderr.contains("exists; pass --force"), "\(again.stderr)")
            #expect(try String(contentsOfFile: dir + "/agent.yml", encoding: .utf8) == agentYAML, "overwritten")
        }
    }

    @Test func remoteURLComesFromTheFlagOrFromTheCloneItRunsIn() throws {
        try withSandbox(forcedCommand: true) { vm in
            let flagged = vm.root + "/flagged", cloned = vm.root + "/cloned"
            for dir in [flagged, cloned] {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            }
            let base = ["init", "--host", "vm", "--app", "bots", "--path", "/srv/bots"]
            let shipkeepPath = try BuildProducts.path("shipkeep")
            let fromFlag = try runProcess([shipkeepPath] + base + ["--output-dir", flagged, "--remote-url",
                                                                   "git@github.com:you/bots.git"], cwd: vm.developer)
            #expect(fromFlag.status == 0, "\(fromFlag.stderr)")
            #expect(try String(contentsOfFile: flagged + "/agent.yml", encoding: .utf8)
                .contains("    remote_url: \"git@github.com:you/bots.git\""))
            // In the developer's clone, whose origin is the sandbox's bare repository.
            let fromClone = try runProcess([shipkeepPath] + base + ["--output-dir", cloned], cwd: vm.developer)
            #expect(fromClone.status == 0, "\(fromClone.stderr)")
            let text = try String(contentsOfFile: cloned + "/agent.yml", encoding: .utf8)
            #expect(text.contains("    remote_url: \(vm.origin)") || text.contains("    remote_url: \"\(vm.origin)\""),
                    "\(text)")
            let bad = try runProcess([shipkeepPath] + base + ["--output-dir", flagged, "--force",
                                                              "--remote-url=-oProxyCommand=x"], cwd: vm.developer)
            #expect(bad.status == 64 && bad.stderr.contains("apps.bots.remote_url"), "\(bad.stderr)")
        }
    }

    @Test(arguments: [
        (["--app", "b;ad", "--path", "/srv/x"], "agent.yml:3: apps.b;ad"),
        (["--app", "bots", "--path", "srv/x"], "apps.bots.path: must be an absolute path"),
        (["--app", "bots", "--path", "/srv/x", "--data", "../etc"], "apps.bots.data"),
        (["--app", "bots", "--path", "/srv/x", "--restart", " "], "--restart is empty"),
    ])
    func badValuesAreOneLineErrorsAndWriteNothing(arguments: [String], message: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shipkeep-init-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try shipkeep(["init", "--output-dir", dir, "--host", "vm"] + arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    /// The health lines agent.yml gets: settle and freshness by default, each tunable, both off with --no-health.
    @Test(arguments: [
        ([], ["settle: 3", "fresh: { path: out, within: 10 }"], [String]()),
        (["--settle", "7", "--fresh", "out/signals.jsonl", "--fresh-within", "60"],
         ["settle: 7", "fresh: { path: out/signals.jsonl, within: 60 }"], []),
        (["--settle", "0"], ["fresh: { path: out, within: 10 }"], ["settle:"]),
        (["--no-health"], [], ["settle:", "fresh:", "health:"]),
    ])
    func healthDefaultsAndTheirFlags(flags: [String], present: [String], absent: [String]) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shipkeep-init-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try shipkeep(["init", "--output-dir", dir, "--host", "vm", "--app", "bots", "--path", "/srv/bots",
                                   "--data", "out", "--restart", "./restart.sh", "--check", "./check.sh"] + flags)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("health: check ./check.sh"), "\(result.stdout)")
        let yaml = try String(contentsOfFile: dir + "/agent.yml", encoding: .utf8)
        for line in present { #expect(yaml.contains(line), "\(line) missing:\n\(yaml)") }
        for line in absent { #expect(!yaml.contains(line), "\(line) written:\n\(yaml)") }
    }
}
