import Foundation
import Testing
import ShipkeepSandbox

/// `status` judges the app as the deploy does — services' checks, freshness, data dirs — through a real sshd, in
/// every format, and its Prometheus output is what the Prometheus parser accepts.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct StatusChecksTests {
    @Test func aKilledBotIsCriticalInTextJSONAndPrometheus() throws {
        try withSandbox(bot: true) { vm in
            let healthy = try shipkeep(["status", "--format", "prometheus"] + vm.controllerArguments)
            #expect(healthy.status == 0, "\(healthy.stderr)\n\(healthy.stdout)")
            let before = try ParsedExposition.parse(healthy.stdout)
            #expect(before.value("shipkeep_service_up", ["service": "bot", "app": "bots"]) == 1)
            #expect(before.value("shipkeep_check_success", ["kind": "fresh", "check": "paper_trading_outputs"]) == 1)

            vm.stopBot()
            let text = try shipkeep(["status"] + vm.controllerArguments)
            #expect(text.status == 2, "\(text.stderr)\n\(text.stdout)")
            let first = text.stdout.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.hasPrefix("CRITICAL "), "\(text.stdout)")
            #expect(first.contains("bots: bot check (./check.sh) exited with status 1"), "first line: \(first)")
            #expect(text.stdout.contains("  checks  bot FAILED ("), "\(text.stdout)")

            let json = try shipkeep(["status", "--json"] + vm.controllerArguments)
            #expect(json.status == 2, "\(json.stderr)")
            let lines = jsonLines(json.stdout)
            let last = try #require(lines.last)
            #expect(last["health"] as? String == "critical")
            #expect(last["exitCode"] as? Int == 2)
            let status = try #require(lines.first { $0["type"] as? String == "status" })
            let app = try #require((status["apps"] as? [[String: Any]])?.first)
            let checks = try #require(app["checks"] as? [[String: Any]])
            let bot = try #require(checks.first { $0["kind"] as? String == "service" })
            #expect(bot["name"] as? String == "bot")
            #expect(bot["ok"] as? Bool == false)
            #expect((bot["message"] as? String)?.contains("exited with status 1") == true)
            #expect(checks.contains { $0["kind"] as? String == "fresh" && $0["ok"] as? Bool == true })
            #expect(checks.filter { $0["kind"] as? String == "data" }.count == 2)

            let metrics = try shipkeep(["status", "--format", "prometheus"] + vm.controllerArguments)
            #expect(metrics.status == 2, "--format prometheus keeps the Nagios status: \(metrics.stderr)")
            let after = try ParsedExposition.parse(metrics.stdout)
            #expect(after.value("shipkeep_service_up", ["service": "bot"]) == 0)
            #expect(after.value("shipkeep_check_success", ["kind": "service", "check": "bot"]) == 0)
            #expect(after.value("shipkeep_health", ["app": "bots"]) == 2)
            #expect(after.value("shipkeep_status_code") == 2)
            #expect(after.value("shipkeep_up") == 1)
        }
    }

    @Test func staleDataIsCriticalAndNamed() throws {
        try withSandbox(bot: true) { vm in
            // The bot writes its log only when it starts: judged by it, the data goes stale while the bot runs.
            try rewriteAgentConfig(vm) {
                $0.replacingOccurrences(of: "fresh: { path: paper_trading_outputs, within: 10 }",
                                        with: "fresh: { path: logs, within: 10 }")
            }
            // The bot logs one line when it starts, after restart.sh returned: age the log only once it has.
            try waitUntil("the bot has logged its start") {
                let log = try? String(contentsOfFile: vm.appPath + "/logs/bot.log", encoding: .utf8)
                return log?.contains("starting after seq") == true
            }
            let old = timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)
            for name in try FileManager.default.contentsOfDirectory(atPath: vm.appPath + "/logs") {
                var times = [old, old]
                #expect(utimensat(AT_FDCWD, vm.appPath + "/logs/" + name, &times, 0) == 0)
            }
            let text = try shipkeep(["status"] + vm.controllerArguments)
            #expect(text.status == 2, "\(text.stderr)\n\(text.stdout)")
            let first = text.stdout.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.contains("bots: logs is stale: last written 3"), "first line: \(first)")
            #expect(first.contains("(fresh within 10s)"), "first line: \(first)")
            #expect(text.stdout.contains("bot ok ("), "the bot's own check passes: \(text.stdout)")
        }
    }

    @Test func aHangingCheckIsKilledAtItsTimeoutAndStatusAnswers() throws {
        try withSandbox(bot: true) { vm in
            try vm.writeAgentConfig(serviceTimeout: 2)
            try rewriteAgentConfig(vm) {
                $0.replacingOccurrences(of: #"check: ["./check.sh"]"#, with: #"check: ["sleep", "300"]"#)
            }
            let started = Date()
            let result = try shipkeep(["status", "--json"] + vm.controllerArguments)
            let took = Date().timeIntervalSince(started)
            #expect(result.status == 2, "\(result.stderr)")
            #expect(took < 20, "status took \(took)s with a 2 s service timeout")
            let status = try #require(jsonLines(result.stdout).first { $0["type"] as? String == "status" })
            let app = try #require((status["apps"] as? [[String: Any]])?.first)
            let reasons = app["reasons"] as? [String] ?? []
            #expect(reasons.first?.contains("timed out after 2s") == true, "\(reasons)")
        }
    }

    @Test func aDataDirGoneSinceTheSnapshotIsCritical() throws {
        try withSandbox(bot: true) { vm in
            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deployed = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(deployed.status == 0, "\(deployed.stderr)")
            try FileManager.default.removeItem(atPath: vm.appPath + "/logs")
            let text = try shipkeep(["status"] + vm.controllerArguments)
            #expect(text.status == 2, "\(text.stderr)\n\(text.stdout)")
            let first = text.stdout.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.contains("bots: data dir logs is missing (snapshot "), "first line: \(first)")
            let metrics = try shipkeep(["status", "--format", "prometheus"] + vm.controllerArguments)
            let parsed = try ParsedExposition.parse(metrics.stdout)
            #expect(parsed.value("shipkeep_check_success", ["kind": "data", "check": "logs"]) == 0)
            #expect(parsed.value("shipkeep_check_success", ["kind": "data", "check": "paper_trading_outputs"]) == 1)
            #expect(parsed.value("shipkeep_disk_free_bytes", ["role": "snapshots"]) != nil)
            #expect(parsed.value("shipkeep_disk_free_bytes", ["role": "data", "dir": "paper_trading_outputs"]) != nil)
        }
    }

    @Test func anUnreachableVMStillPrintsACompleteExposition() throws {
        try withSandbox { vm in
            vm.server.stop()
            let metrics = try shipkeep(["status", "--format", "prometheus", "--connect-timeout", "5"]
                                       + vm.controllerArguments)
            #expect(metrics.status == 3)
            let parsed = try ParsedExposition.parse(metrics.stdout)
            let up = try #require(parsed.samples.first { $0.name == "shipkeep_up" })
            #expect(up.value == 0)
            #expect(up.labels["reason"] == "connection", "\(up.labels)")
            #expect(parsed.value("shipkeep_status_code") == 3)
        }
    }

    /// The README's cron line, run by a shell as cron would (PATH holding shipkeep, little else), against a VM
    /// that is OK, then CRITICAL, then unreachable: each run leaves the textfile current, renamed into place,
    /// and the README's alert expressions hold exactly when they should.
    @Test func theReadmeTextfileRecipeKeepsTheFileCurrentInEveryCase() throws {
        let readme = try String(contentsOfFile: Self.packageRoot + "/README.md", encoding: .utf8)
        let cron = try #require(readme.split(separator: "\n").first { $0.hasPrefix("* * * * * shipkeep ") },
                                "no cron line in the README")
        let alerts = Self.alerts(in: readme)
        #expect(Set(alerts.map(\.0)).isSuperset(of: ["ShipkeepVMUnreachable", "ShipkeepCritical", "BotDown"]))
        try withSandbox(bot: true) { vm in
            let dir = vm.root + "/textfile"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let config = vm.root + "/shipkeep.yml"
            try ("targets:\n" + vm.targetYAML("prod")).write(toFile: config, atomically: true, encoding: .utf8)
            let command = String(cron.dropFirst("* * * * * ".count))
                .replacingOccurrences(of: "/etc/shipkeep/shipkeep.yml", with: config)
                .replacingOccurrences(of: "/var/lib/node_exporter/textfile", with: dir)
            let bin = (try BuildProducts.path("shipkeep") as NSString).deletingLastPathComponent
            let cronEnvironment = ["PATH": "\(bin):/usr/bin:/bin", "HOME": vm.home, "SHELL": "/bin/sh",
                                   "SSH_AUTH_SOCK": "", "SHIPKEEP_SSH_CONFIG": "/dev/null"]
            func runCron() throws -> ParsedExposition {
                let result = try runProcess(["/usr/bin/env", "-i"] + cronEnvironment.map { "\($0)=\($1)" }
                                            + ["/bin/sh", "-c", command])
                #expect(result.status == 0, "the cron line exits 0 whenever it wrote the file: \(result.stderr)")
                let files = try FileManager.default.contentsOfDirectory(atPath: dir)
                #expect(files == ["shipkeep.prom"], "only the renamed file is left: \(files)")
                let text = try String(contentsOfFile: dir + "/shipkeep.prom", encoding: .utf8)
                return try ParsedExposition.parse(text, alerts: alerts)
            }

            let ok = try runCron()
            #expect(ok.value("shipkeep_up") == 1)
            #expect(ok.value("shipkeep_status_code") == 0)
            #expect(ok.firing.isEmpty, "no alert fires on a healthy VM: \(ok.firing)")
            let stamp = try #require(ok.value("shipkeep_probe_timestamp_seconds"))

            vm.stopBot()
            let critical = try runCron()
            #expect(critical.value("shipkeep_status_code") == 2)
            #expect(critical.firing.isSuperset(of: ["ShipkeepCritical", "BotDown"]), "\(critical.firing)")
            #expect(!critical.firing.contains("ShipkeepVMUnreachable"))
            #expect((critical.value("shipkeep_probe_timestamp_seconds") ?? 0) >= stamp)

            vm.server.stop()
            let down = try runCron()
            #expect(down.value("shipkeep_up") == 0)
            #expect(down.value("shipkeep_status_code") == 3)
            #expect(down.firing == ["ShipkeepVMUnreachable"], "\(down.firing)")
        }
    }

    /// `status GROUP`: every member probed in parallel, each over its own connection; the worst verdict exits.
    @Test func aGroupIsProbedInParallelAndExitsWithTheWorstVerdict() throws {
        try withSandbox(bot: true) { healthy in
            try withSandbox { down in
                try withSandbox { gone in
                    gone.server.stop()
                    let config = healthy.root + "/shipkeep.yml"
                    try ("targets:\n" + healthy.targetYAML("a") + down.targetYAML("b") + gone.targetYAML("c")
                         + "groups:\n  all: [a, b, c]\n  fine: [a]\n  unreachable: [a, c]\n")
                        .write(toFile: config, atomically: true, encoding: .utf8)

                    let text = try shipkeep(["status", "all", "--config", config, "--connect-timeout", "5"])
                    #expect(text.status == 2, "CRITICAL outranks UNKNOWN: \(text.stderr)\n\(text.stdout)")
                    let rows = text.stdout.split(separator: "\n").map(String.init)
                    #expect(rows.first == "CRITICAL all: 1 of 3 hosts OK", "\(text.stdout)")
                    #expect(rows.contains { $0.hasPrefix("a ") && $0.contains(" OK ") }, "\(text.stdout)")
                    #expect(rows.contains { $0.hasPrefix("b ") && $0.contains("CRITICAL") && $0.contains("bot check") })
                    #expect(rows.contains { $0.hasPrefix("c ") && $0.contains("UNKNOWN") })

                    let json = try shipkeep(["status", "all", "--json", "--config", config, "--connect-timeout", "5"])
                    #expect(json.status == 2)
                    let lines = jsonLines(json.stdout)
                    let hosts = lines.filter { $0["type"] as? String == "host" }
                    #expect(Set(hosts.compactMap { $0["target"] as? String }) == ["a", "b", "c"])
                    #expect(hosts.first { $0["target"] as? String == "b" }?["health"] as? String == "critical")
                    #expect(hosts.first { $0["target"] as? String == "a" }?["status"] is [String: Any])
                    #expect(lines.last?["type"] as? String == "result")
                    #expect(lines.last?["exitCode"] as? Int == 2)

                    let metrics = try shipkeep(["status", "all", "--format", "prometheus", "--config", config,
                                                "--connect-timeout", "5"])
                    #expect(metrics.status == 2)
                    let parsed = try ParsedExposition.parse(metrics.stdout)
                    #expect(parsed.value("shipkeep_up", ["target": "a"]) == 1)
                    #expect(parsed.value("shipkeep_up", ["target": "c"]) == 0)
                    #expect(parsed.value("shipkeep_service_up", ["target": "b", "service": "bot"]) == 0)
                    #expect(parsed.value("shipkeep_service_up", ["target": "a", "service": "bot"]) == 1)

                    #expect(try shipkeep(["status", "fine", "--config", config]).status == 0)
                    #expect(try shipkeep(["status", "unreachable", "--config", config, "--connect-timeout", "5"])
                        .status == 3)
                }
            }
        }
    }

    /// `--watch` outlives its session: killed under it, the probe reports UNKNOWN, then reconnects once sshd
    /// is back (restarted on the same port) and reports OK again.
    @Test func watchReconnectsAfterTheSessionDiesAndSshdRestarts() throws {
        try withSandbox(bot: true) { vm in
            let watcher = try BackgroundShipkeep(["status", "--json", "--watch", "0.2"] + vm.controllerArguments)
            defer { watcher.kill(SIGTERM); _ = try? watcher.wait() }
            try watcher.waitForLine { $0.contains(#""type":"result""#) && $0.contains(#""health":"ok""#) }
            let port = vm.server.port
            vm.server.stop()
            #expect(Self.killSessions(servingConfig: vm.agentConfigPath) > 0, "no agent session to kill")
            try watcher.waitForLine { $0.contains(#""health":"unknown""#) }
            #expect(watcher.isRunning, "--watch keeps going: \(watcher.errorOutput)")
            try vm.server.start(port: port)
            let unknownAt = watcher.output.range(of: #""health":"unknown""#)!.upperBound
            try waitUntil("the watch reports OK again after the restart", timeout: 60) {
                watcher.output[unknownAt...].contains(#""health":"ok""#)
            }
            #expect(watcher.errorOutput.contains("reconnecting to"), "\(watcher.errorOutput)")
            let logins = vm.server.log().components(separatedBy: "Accepted publickey").count - 1
            #expect(logins >= 2, "a new session after the restart, saw \(logins) logins")
        }
    }

    /// Kills (SIGKILL) every agent serving `config` and the sshd session process above it: the session dies as
    /// it does when the VM goes away. Returns how many agents there were.
    static func killSessions(servingConfig config: String) -> Int {
        var agents = 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let argv = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard argv.contains("serve"), argv.contains(config) else { continue }
            if let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")"),
               let parent = stat[stat.index(after: close)...].split(separator: " ").dropFirst().first.flatMap({ Int32($0) }),
               let parentArgv = FileManager.default.contents(atPath: "/proc/\(parent)/cmdline"),
               String(decoding: parentArgv, as: UTF8.self).hasPrefix("sshd") {
                kill(parent, SIGKILL)
            }
            kill(pid, SIGKILL)
            agents += 1
        }
        return agents
    }

    private func rewriteAgentConfig(_ vm: VMSandbox, _ change: (String) -> String) throws {
        let text = try String(contentsOfFile: vm.agentConfigPath, encoding: .utf8)
        let changed = change(text)
        #expect(changed != text, "the agent.yml edit matched nothing")
        try changed.write(toFile: vm.agentConfigPath, atomically: true, encoding: .utf8)
        chmod(vm.agentConfigPath, 0o644)
    }

    /// The `- alert: NAME` / `expr: EXPR` pairs of the README's rules file.
    static func alerts(in readme: String) -> [(String, String)] {
        var alerts: [(String, String)] = []
        var name: String?
        for line in readme.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("- alert: ") { name = String(line.dropFirst("- alert: ".count)) }
            if line.hasPrefix("expr: "), let current = name {
                alerts.append((current, String(line.dropFirst("expr: ".count))))
                name = nil
            }
        }
        return alerts
    }

    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }
}
