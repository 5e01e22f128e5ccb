import Foundation
import Testing
import ShipkeepSandbox

extension VMSandbox {
    /// Adds `lines` (indented for the app's keys) to the app in agent.yml, after its `remote:` line.
    func addAgentConfigLines(_ lines: [String]) throws {
        let text = try String(contentsOfFile: agentConfigPath, encoding: .utf8)
        let anchor = "    remote: origin\n"
        precondition(text.contains(anchor), "agent.yml has no remote: line to add after")
        let added = text.replacingOccurrences(of: anchor, with: anchor + lines.map { "    \($0)\n" }.joined())
        try added.write(toFile: agentConfigPath, atomically: true, encoding: .utf8)
        chmod(agentConfigPath, 0o644)
    }
}

/// The first deploy to a new VM: the work tree does not exist yet, and agent.yml's `remote_url` says where
/// it comes from.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct FirstDeployTests {
    private func removeWorkTree(_ vm: VMSandbox, keepEmptyDirectory: Bool = false) throws {
        vm.stopBot()
        try FileManager.default.removeItem(atPath: vm.appPath)
        if keepEmptyDirectory { try FileManager.default.createDirectory(atPath: vm.appPath, withIntermediateDirectories: false) }
    }

    private func originTip(_ vm: VMSandbox) throws -> String {
        let result = try runProcess(["git", "-C", vm.origin, "rev-parse", "refs/heads/main"])
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aFirstDeployShippedOverTheSessionNeedsNoRemoteURL() throws {
        try withSandbox { vm in
            try removeWorkTree(vm)
            try vm.addAgentConfigLines(["ship: true"])
            let tip = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            // The controller runs in the developer's clone, which ships the commit and its whole history.
            let output = try runProcess([try BuildProducts.path("shipkeep"), "deploy", "--ship", "--json"]
                + vm.controllerArguments, cwd: vm.developer,
                environment: ["SSH_AUTH_SOCK": "", "NO_COLOR": "1", "SHIPKEEP_SSH_CONFIG": "/dev/null"])
            #expect(output.status == 0, "\(output.stderr)\n\(output.stdout.suffix(2000))")
            #expect(try vm.liveCommit() == tip)
            #expect(output.stdout.contains("first deploy: \(vm.appPath) created from the shipped bundle"),
                    "\(output.stdout.suffix(2000))")
            #expect(try vm.botSequence().count > 0, "the deployed bot writes")
            // Without --ship and without remote_url, the refusal names both ways.
            try removeWorkTree(vm)
            let refused = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("deploy with --ship"), "\(refused.stderr)")
        }
    }

    @Test func theFirstDeployClonesFromRemoteURLAndCarriesOnAsUsual() throws {
        try withSandbox { vm in
            try removeWorkTree(vm)
            try vm.addAgentConfigLines(["remote_url: file://\(vm.origin)"])
            let tip = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let output = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(output.status == 0, "\(output.stderr)\n\(output.stdout.suffix(2000))")
            #expect(try vm.liveCommit() == tip)
            let branch = try runProcess(["git", "-C", vm.appPath, "symbolic-ref", "--short", "HEAD"])
            #expect(branch.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "main")
            for dir in vm.dataDirs {
                var isDirectory: ObjCBool = false
                #expect(FileManager.default.fileExists(atPath: vm.appPath + "/" + dir, isDirectory: &isDirectory)
                        && isDirectory.boolValue, "data dir \(dir) was not created")
            }
            // The bot the deploy started writes; no warning about "missing" data dirs on a first deploy.
            #expect(try vm.botSequence().count > 0)
            #expect(!output.stdout.contains("missing_data_dir"), "\(output.stdout)")
            let events = jsonLines(output.stdout)
            let preflight = events.first { $0["type"] as? String == "phase" && $0["name"] as? String == "preflight"
                && $0["state"] as? String == "completed" }
            #expect((preflight?["detail"] as? String)?.contains("first deploy") == true, "\(String(describing: preflight))")
            let summary = try #require(events.last?["deploy"] as? [String: Any])
            #expect(summary["previousCommit"] == nil, "\(summary)")
            let snapshot = try #require(summary["snapshot"] as? [String: Any])
            #expect(snapshot["files"] as? Int == 0, "the snapshot of absent data dirs is empty: \(snapshot)")

            // Deploys after it are ordinary ones.
            let next = try vm.commit(["bot.sh": SampleApp.bot(version: "v3")], message: "v3")
            let again = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(again.status == 0, "\(again.stderr)\n\(again.stdout)")
            #expect(try vm.liveCommit() == next)
        }
    }

    @Test func aBadURLAndAnUnreachableRemoteAreClearErrorsAndAFixedURLThenWorks() throws {
        try withSandbox { vm in
            try removeWorkTree(vm, keepEmptyDirectory: true)
            let clean = try String(contentsOfFile: vm.agentConfigPath, encoding: .utf8)

            // No remote_url: the refusal says what to add.
            let none = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(none.status == 1, "\(none.stderr)")
            #expect(none.stderr.contains("\(vm.appPath) is empty and agent.yml names no remote_url"), "\(none.stderr)")

            // An option-looking URL is refused by the agent's config check, naming the line and key.
            try vm.addAgentConfigLines(["remote_url: --upload-pack=touch /tmp/pwned"])
            let option = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(option.status == 64, "\(option.stderr)")
            #expect(option.stderr.contains("apps.bots.remote_url: must not start with \"-\""), "\(option.stderr)")
            try clean.write(toFile: vm.agentConfigPath, atomically: true, encoding: .utf8)
            try vm.addAgentConfigLines(["remote_url: \"ext::sh -c touch% /tmp/pwned\""])
            let helper = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(helper.status == 64 && helper.stderr.contains("apps.bots.remote_url"), "\(helper.stderr)")

            // An unreachable remote: git's whole stderr, on one line, and --ship named.
            try clean.write(toFile: vm.agentConfigPath, atomically: true, encoding: .utf8)
            try vm.addAgentConfigLines(["remote_url: \(vm.root)/no-such-repo.git"])
            let unreachable = try shipkeep(["deploy", "--verbose"] + vm.controllerArguments)
            #expect(unreachable.status == 1, "\(unreachable.stderr)")
            let line = try #require(unreachable.stderr.split(separator: "\n").last { $0.hasPrefix("shipkeep: ") })
            #expect(line.contains("cannot clone bots from origin (remote_url) for its first deploy"), "\(line)")
            #expect(line.contains("does not appear to be a git repository"), "git's first line is missing: \(line)")
            #expect(line.contains("and the repository exists."), "git's last line is missing: \(line)")
            #expect(line.contains("--ship"), "\(line)")
            #expect(!FileManager.default.fileExists(atPath: vm.appPath + "/bot.sh"))

            // The same tree, its first deploy begun, takes the fixed URL.
            try clean.write(toFile: vm.agentConfigPath, atomically: true, encoding: .utf8)
            try vm.addAgentConfigLines(["remote_url: \(vm.origin)"])
            let fixed = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(fixed.status == 0, "\(fixed.stderr)\n\(fixed.stdout)")
            #expect(try vm.liveCommit() == originTip(vm))
        }
    }

    @Test func anUnhealthyFirstDeployNeedsAttentionAndSaysThereIsNothingToRollBackTo() throws {
        try withSandbox { vm in
            try removeWorkTree(vm)
            try vm.writeAgentConfig(hooks: [["false"]])
            try vm.addAgentConfigLines(["remote_url: \(vm.origin)"])
            let output = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(output.status == 2, "\(output.stderr)")
            #expect(output.stderr.contains("this was the first deploy of bots, so there is no earlier commit to roll "
                + "back to"), "\(output.stderr)")
            let result = try #require(jsonLines(output.stdout).last)
            #expect((result["error"] as? [String: Any])?["code"] as? String == "first_deploy_unhealthy", "\(result)")
            // The code is the commit asked for, the data dirs exist: the next deploy, fixed, is an ordinary one.
            #expect(try vm.liveCommit() == originTip(vm))
            try vm.writeAgentConfig()
            try vm.addAgentConfigLines(["remote_url: \(vm.origin)"])
            let fixed = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let again = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try vm.liveCommit() == fixed)
        }
    }

    @Test func aFetchThatFailsOnALaterDeployShowsAllGitSaid() throws {
        try withSandbox { vm in
            let live = try vm.liveCommit()
            let moved = vm.root + "/origin-moved.git"
            try FileManager.default.moveItem(atPath: vm.origin, toPath: moved)
            let output = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(output.status == 1, "\(output.stderr)")
            let line = try #require(output.stderr.split(separator: "\n").last { $0.hasPrefix("shipkeep: ") })
            #expect(line.contains("cannot fetch from origin: git: fatal:"), "\(line)")
            #expect(line.contains(" | ") && line.contains("and the repository exists."), "\(line)")
            #expect(line.contains("deploy with --ship"), "\(line)")
            #expect(try vm.liveCommit() == live)
        }
    }
}
