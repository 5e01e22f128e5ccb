import Foundation
import Testing
import ShipkeepSandbox

/// The `systemd:` services against a real systemd (PID 1 of a systemd-nspawn VM), for a deploy user who is not
/// root: a user unit with lingering, and a system unit restarted through sudo.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SystemdUnitTests {
    /// A bot that exits at once: its unit never stays up.
    static let crashingBot = ["bot.sh": "#!/usr/bin/env bash\necho 'bot: cannot start' >&2\nexit 1\n"]

    @Test("a user unit: deploy while the bot writes loses nothing; it comes back after a reboot; status is OK")
    func userUnit() throws {
        try withSystemdVM(scope: .user) { vm in
            try vm.awaitBotLines()
            let target = try vm.sandbox.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deploy = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(deploy.status == 0, "\(deploy.stderr)\n\(deploy.stdout.suffix(2000))")
            #expect(try vm.sandbox.liveCommit() == target)
            // The unit's journal since the restart, streamed as log events.
            let journal = jsonLines(deploy.stdout).filter {
                $0["type"] as? String == "log" && $0["stream"] as? String == "journal"
            }
            #expect(journal.contains { ($0["line"] as? String ?? "").contains("Started bot.service") },
                    "journal lines: \(journal)")
            try vm.awaitBotLines()

            try vm.reboot()
            try vm.awaitBotLines()
            let status = try shipkeep(["status"] + vm.controllerArguments)
            #expect(status.status == 0, "status after the reboot: \(status.stdout)\(status.stderr)")
            #expect(status.stdout.contains("host \(vm.name)"), "\(status.stdout)")
            let running = try vm.botVersion()
            #expect(running == "v2")
            let live = try vm.sandbox.liveCommit()
            let lost = try vm.linesLost()
            try ReliabilityRecord(
                section: "faults", id: "10-7",
                scenario: "VM rebooted after a deploy (systemd user unit, non-root deploy user)",
                injection: "`systemctl reboot` inside the VM; boot again on the same disk",
                outcome: "bot.service started at boot by the deploy user's lingering manager, running \(running); "
                    + "code at \(live == target ? "the deployed commit" : "another commit"); "
                    + "status exit \(status.status)",
                linesLost: lost, test: "SystemdUnitTests/userUnit()"
            ).write()
        }
    }

    @Test("a system unit through the sudoers rule: deploy loses nothing; a unit that fails to start is rolled back")
    func systemUnitThroughSudo() throws {
        try withSystemdVM(scope: .system) { vm in
            try vm.sandbox.writeAgentConfig(healthTimeout: 3, systemd: "{unit: bot.service, scope: system}")
            try vm.awaitBotLines()
            let good = try vm.sandbox.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deploy = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(deploy.status == 0, "\(deploy.stderr)\n\(deploy.stdout.suffix(2000))")
            #expect(try vm.sandbox.liveCommit() == good)
            // A system unit's journal, readable by the deploy user in the systemd-journal group.
            let journal = jsonLines(deploy.stdout).filter {
                $0["type"] as? String == "log" && $0["stream"] as? String == "journal"
            }
            #expect(journal.contains { ($0["line"] as? String ?? "").contains("Started bot.service") },
                    "journal lines: \(journal)")

            try vm.sandbox.commit(Self.crashingBot, message: "v3 cannot start")
            let broken = try shipkeep(["deploy"] + vm.controllerArguments)
            #expect(broken.status == 1, "rolled back: \(broken.stdout)\(broken.stderr)")
            #expect(broken.stdout.contains("rollback") || broken.stderr.contains("rolled back"),
                    "\(broken.stdout)\(broken.stderr)")
            #expect(try vm.sandbox.liveCommit() == good, "the previous commit is live again")
            try vm.awaitBotLines()
            #expect(try vm.linesLost() == 0)
        }
    }

    @Test("the VM's agent came from shipkeep install, which printed the exact sudoers rule for its system units")
    func installPrintsTheSudoersRule() throws {
        try withSystemdVM(scope: .system) { vm in
            // The first boot ran `shipkeep install` with the deploy user's own key, as a user sets up a VM.
            let lines = vm.installOutput.split(separator: "\n").map(String.init)
            #expect(lines.contains("deploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart bot.service, "
                + "/usr/bin/systemctl is-active bot.service, /usr/bin/systemctl reset-failed bot.service, "
                + "/usr/bin/systemctl stop bot.service, /usr/bin/systemctl start bot.service"),
                    "\(vm.installOutput)")
            #expect(vm.installOutput.contains("usermod -aG systemd-journal deploy"), "\(vm.installOutput)")
            #expect(try runProcess(["cmp", vm.agentBinary, vm.installedAgent]).status == 0,
                    "the forced command runs the uploaded agent")
            #expect(try vm.exec(["test", "-e", "/usr/local/bin/shipkeep-agent"]).status != 0,
                    "nothing else put an agent in the VM")
            // The VM runs exactly that rule (bound in as /etc/sudoers.d/shipkeep), and sudo accepts it.
            let rule = try vm.exec(["cat", "/etc/sudoers.d/shipkeep"]).stdout
            #expect(lines.contains(rule.trimmingCharacters(in: .newlines)))
            #expect(try vm.exec(["visudo", "-c", "-f", "/etc/sudoers.d/shipkeep"]).status == 0)
            let status = try shipkeep(["status"] + vm.controllerArguments)
            #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        }
    }

    @Test("without the sudoers rule, a system unit's restart fails with one line that names both set-ups")
    func systemUnitWithoutSudoers() throws {
        // The user-scope VM has no sudoers rule: the deploy user may not restart system units.
        try withSystemdVM(scope: .user) { vm in
            try vm.sandbox.writeAgentConfig(healthTimeout: 2, systemd: "bot.service")
            try vm.sandbox.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deploy = try shipkeep(["deploy"] + vm.controllerArguments)
            let said = deploy.stdout + deploy.stderr
            #expect(deploy.status != 0, "\(said)")
            #expect(said.contains("may not restart the system unit bot.service"), "\(said)")
            #expect(said.contains("deploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart bot.service, "
                + "/usr/bin/systemctl is-active bot.service"), "\(said)")
            #expect(said.contains("scope: user"), "\(said)")
        }
    }

    @Test("a restart refused by systemd's start limit is reported as start-limit-hit")
    func startLimit() throws {
        try withSystemdVM(scope: .user, startLimit: true) { vm in
            try vm.sandbox.writeAgentConfig(healthTimeout: 4, systemd: "{unit: bot.service, scope: user}")
            try vm.sandbox.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            // Started at boot, then four restarts: the deploy's is the sixth start within 5 minutes (the limit is 5).
            for _ in 0..<4 { _ = try vm.systemctl(["restart", "bot.service"]) }
            let deploy = try shipkeep(["deploy"] + vm.controllerArguments)
            let said = deploy.stdout + deploy.stderr
            #expect(deploy.status != 0, "\(said)")
            #expect(said.contains("hit systemd's start limit (start-limit-hit"), "\(said)")
            #expect(said.contains("reset-failed bot.service"), "\(said)")
        }
    }

    @Test("a unit that crashes its way into the start limit after a deploy is reported as start-limit-hit")
    func crashLoopIntoTheStartLimit() throws {
        try withSystemdVM(scope: .user, startLimit: true) { vm in
            try vm.sandbox.writeAgentConfig(healthTimeout: 6, systemd: "{unit: bot.service, scope: user}")
            // It lives long enough for its start to succeed (one that exits at once may fail the restart job
            // itself, which is rolled back before any loop); then Restart=on-failure every 0.2 s: five starts
            // within two seconds, and systemd gives up.
            let crashing = "#!/usr/bin/env bash\nsleep 0.1\necho 'bot: cannot start' >&2\nexit 1\n"
            try vm.sandbox.commit(["bot.sh": crashing], message: "v2 crashes at start")
            let deploy = try shipkeep(["deploy"] + vm.controllerArguments)
            let said = deploy.stdout + deploy.stderr
            #expect(deploy.status != 0, "\(said)")
            #expect(said.contains("hit systemd's start limit (start-limit-hit"), "\(said)")
            // Its own words, from its journal.
            #expect(said.contains("bot: cannot start"), "\(said)")
            // The rollback cleared the limit the new code ran into (reset-failed), so the old bot runs again.
            #expect(deploy.status == 1, "\(said)")
            #expect(try vm.systemctl(["is-active", "bot.service"]).stdout.hasPrefix("active"), "\(said)")
        }
    }
}
