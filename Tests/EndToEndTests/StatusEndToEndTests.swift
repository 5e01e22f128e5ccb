import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep status` through a real sshd whose deploy key is forced to `shipkeep-agent serve`.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct StatusEndToEndTests {
    @Test func statusJSONThroughAForcedCommandKeyIsOK() throws {
        try withSandbox(bot: true) { vm in
            let result = try shipkeep(["status", "--json"] + vm.controllerArguments)
            #expect(result.status == 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            let lines = jsonLines(result.stdout)
            #expect(lines.allSatisfy { $0["type"] is String })
            let last = try #require(lines.last)
            #expect(last["type"] as? String == "result")
            #expect(last["ok"] as? Bool == true)
            #expect(last["health"] as? String == "ok")
            let status = try #require(lines.first { $0["type"] as? String == "status" })
            let apps = try #require(status["apps"] as? [[String: Any]])
            #expect(apps.first?["name"] as? String == "bots")
            let data = try #require(apps.first?["data"] as? [[String: Any]])
            #expect(data.map { $0["path"] as? String } == ["paper_trading_outputs", "logs"])
            #expect((data.first?["files"] as? Int ?? 0) >= 1, "the bot's output should be counted")
            let head = try #require(apps.first?["head"] as? [String: Any])
            #expect(head["subject"] as? String == "v1: first bot")
            #expect(apps.first?["dirty"] as? Bool == false)
            #expect(vm.server.log().contains("Accepted publickey"))
        }
    }

    @Test func humanAndPrometheusFormats() throws {
        try withSandbox(bot: true) { vm in
            let text = try shipkeep(["status"] + vm.controllerArguments)
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.hasPrefix("OK "))
            #expect(text.stdout.contains("bots  OK"))
            #expect(text.stdout.contains("\"v1: first bot\""))
            #expect(!text.stdout.contains("\u{1B}["), "no colours when stdout is not a terminal")

            let metrics = try shipkeep(["status", "--format", "prometheus"] + vm.controllerArguments)
            #expect(metrics.status == 0, "\(metrics.stderr)")
            #expect(metrics.stdout.contains("# TYPE shipkeep_up gauge"))
            #expect(metrics.stdout.range(of: #"shipkeep_up\{target="[^"]+"\} 1"#, options: .regularExpression) != nil)
            #expect(metrics.stdout.contains("shipkeep_data_bytes{app=\"bots\",dir=\"logs\""))
            #expect(metrics.stdout.contains("shipkeep_lock_held{app=\"bots\""))
        }
    }

    @Test func afterADeployTheProbeCoversSnapshotsAndTheOutcome() throws {
        try withSandbox { vm in
            let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deployed = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(deployed.status == 0, "\(deployed.stderr)")
            let metrics = try shipkeep(["status", "--format", "prometheus"] + vm.controllerArguments)
            #expect(metrics.status == 0, "\(metrics.stderr)")
            for pattern in [
                #"shipkeep_snapshots\{app="bots",target="[^"]+"\} 1\n"#,
                #"shipkeep_snapshot_newest_age_seconds\{app="bots",target="[^"]+"\} [0-9.]+\n"#,
                #"shipkeep_last_deploy_success\{app="bots",target="[^"]+"\} 1\n"#,
                #"shipkeep_last_deploy_info\{app="bots",commit=""# + target + #"",outcome="succeeded",target="[^"]+"\} 1"#,
                #"shipkeep_last_deploy_age_seconds\{app="bots",target="[^"]+"\} [0-9.]+\n"#,
            ] {
                #expect(metrics.stdout.range(of: pattern, options: .regularExpression) != nil,
                        "no \(pattern) in\n\(metrics.stdout)")
            }
            let text = try shipkeep(["status"] + vm.controllerArguments)
            #expect(text.stdout.range(of: "  backup  1 snapshot\\(s\\), newest [0-9]+s ago", options: .regularExpression)
                    != nil, "\(text.stdout)")
            vm.stopBot()
        }
    }

    @Test func aDirtyWorkTreeIsAWarningWithExitCodeOne() throws {
        try withSandbox(bot: true) { vm in
            try "edited on the VM\n".write(toFile: vm.appPath + "/README.md", atomically: false, encoding: .utf8)
            let result = try shipkeep(["status", "--json"] + vm.controllerArguments)
            #expect(result.status == 1, "\(result.stderr)")
            let last = try #require(jsonLines(result.stdout).last)
            #expect(last["health"] as? String == "warning")
            #expect(last["ok"] as? Bool == false)
        }
    }

    @Test func aMissingWorkTreeIsCriticalWithExitCodeTwo() throws {
        try withSandbox { vm in
            try FileManager.default.removeItem(atPath: vm.appPath + "/.git")
            let result = try shipkeep(["status"] + vm.controllerArguments)
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stdout.hasPrefix("CRITICAL"))
            #expect(result.stdout.contains("cannot be read as a git checkout"))
        }
    }

    @Test func theKeyCanComeFromMemoryThroughTheEnvironment() throws {
        try withSandbox(bot: true) { vm in
            let key = try String(contentsOfFile: vm.server.userKeyPath, encoding: .utf8)
            var arguments = vm.controllerArguments
            let identity = try #require(arguments.firstIndex(of: "--identity"))
            arguments.removeSubrange(identity...(identity + 1))
            let result = try shipkeep(["status", "--json"] + arguments, environment: ["SHIPKEEP_SSH_KEY": key])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stdout.contains("PRIVATE KEY") && !result.stderr.contains("PRIVATE KEY"))
        }
    }

    @Test func everySettingCanComeFromTheEnvironment() throws {
        try withSandbox(bot: true) { vm in
            let env = [
                "SHIPKEEP_HOST": vm.server.listenAddress, "SHIPKEEP_PORT": String(vm.server.port),
                "SHIPKEEP_USER": vm.server.user, "SHIPKEEP_IDENTITY": vm.server.userKeyPath,
                "SHIPKEEP_KNOWN_HOSTS": vm.server.knownHostsPath, "SHIPKEEP_APP": vm.appName,
            ]
            let result = try shipkeep(["status", "--json"], environment: env)
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    @Test func anUnknownAppIsAUsageErrorWithTheAgentsMessage() throws {
        try withSandbox { vm in
            var arguments = vm.controllerArguments
            arguments[try #require(arguments.firstIndex(of: "bots"))] = "web"
            let result = try shipkeep(["status", "--json"] + arguments)
            #expect(result.status == 64, "the VM answered: a configuration error, not UNKNOWN")
            #expect(result.stderr.contains("no app named \"web\""))
            let last = try #require(jsonLines(result.stdout).last)
            #expect((last["error"] as? [String: Any])?["code"] as? String == "unknown_app")
        }
    }

    @Test func aBrokenAgentConfigIsReportedWithFileLineAndKey() throws {
        try withSandbox { vm in
            try "apps:\n  bots:\n    path: /srv/bots\n    snapshot: {}\n"
                .write(toFile: vm.agentConfigPath, atomically: false, encoding: .utf8)
            let result = try shipkeep(["status"] + vm.controllerArguments)
            #expect(result.status == 64)
            #expect(result.stderr.contains("agent.yml:4: apps.bots.snapshot: unknown key"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "one line on stderr: \(result.stderr)")
        }
    }

    @Test func withoutAForcedCommandTheControllerStartsTheAgentItself() throws {
        try withSandbox(forcedCommand: false, bot: true) { vm in
            let result = try shipkeep(["status", "--json", "--agent-command", vm.agentBinary,
                                       "--agent-config", vm.agentConfigPath] + vm.controllerArguments)
            #expect(result.status == 0, "\(result.stderr)")
        }
    }
}
