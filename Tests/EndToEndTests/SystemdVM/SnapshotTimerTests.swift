import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep install --snapshot-timer` in a VM with systemd as PID 1: the user timer it installs is listed by the
/// deploy user's manager, fires `shipkeep-agent snapshot` as that user (snapshots of origin "schedule", in
/// `shipkeep snapshots` and the history, no bot line lost), a second install keeps it, and
/// `--remove-snapshot-timer` takes it away.
@Suite(.serialized, .timeLimit(.minutes(6)))
struct SnapshotTimerTests {
    private static let timer = "shipkeep-snapshot-bots.timer"

    /// `shipkeep install --json` into `vm` with `extra` flags, over the deploy user's own key as the VM's first boot
    /// ran it; the result's `install.snapshotTimers`.
    private func install(_ vm: SystemdVM, _ extra: [String],
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let result = try shipkeep([
            "install", "--json", "--host", vm.address, "--port", "22", "--user", vm.user, "--identity", vm.accountKey,
            "--known-hosts", vm.sandbox.server.knownHostsPath, "--agent-binary", vm.agentBinary,
            "--remote-path", vm.installedAgent, "--remote-config", vm.sandbox.agentConfigPath,
        ] + extra)
        #expect(result.status == 0, "install \(extra): \(result.stderr)\n\(result.stdout)",
                sourceLocation: sourceLocation)
        let install = jsonLines(result.stdout).last?["install"] as? [String: Any]
        return try #require(install?["snapshotTimers"] as? [String: Any], "\(result.stdout)",
                            sourceLocation: sourceLocation)
    }

    private func changes(_ timers: [String: Any]) -> [String] {
        (timers["units"] as? [[String: Any]] ?? []).compactMap { $0["change"] as? String }
    }

    /// The ids of the snapshots of origin "schedule" that succeeded, from their info.json.
    private func scheduled(_ vm: SystemdVM) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: vm.sandbox.snapshotDir)) ?? []
        return names.filter { name in
            guard let data = FileManager.default.contents(atPath: vm.sandbox.snapshotDir + "/" + name + "/info.json"),
                  let info = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
            return info["origin"] as? String == "schedule" && info["outcome"] as? String == "succeeded"
        }.sorted()
    }

    @Test("install --snapshot-timer installs a user timer that fires, keeps it on a second install, removes it")
    func installTheTimerItFiresAndIsRemoved() throws {
        try withSystemdVM(scope: .user) { vm in
            try vm.awaitBotLines()
            // Every 4 s instead of hourly, so the test sees it fire twice.
            let flags = ["--snapshot-timer", "--snapshot-calendar", "*:*:0/4"]
            let first = try install(vm, flags)
            #expect(changes(first) == ["added"], "\(first)")
            #expect(first["applied"] as? Bool == true && first["manager"] as? String == "user", "\(first)")
            #expect(first["lingerCommand"] == nil, "the deploy user lingers: \(first)")
            let directory = try #require(first["directory"] as? String)
            let listed = try vm.systemctl(["list-timers", "--all", "--no-pager"])
            #expect(listed.stdout.contains(Self.timer), "\(listed.stdout)\(listed.stderr)")
            let enabled = try vm.systemctl(["is-enabled", Self.timer])
            #expect(enabled.stdout.hasPrefix("enabled"), "\(enabled.stdout)\(enabled.stderr)")

            try waitUntil("the timer fires twice", timeout: 90) { scheduled(vm).count >= 2 }
            let listing = try shipkeep(["snapshots"] + vm.controllerArguments)
            #expect(listing.status == 0, "\(listing.stderr)")
            for id in scheduled(vm) {
                let row = listing.stdout.split(separator: "\n").first { $0.hasPrefix(id) } ?? ""
                #expect(row.contains(" schedule ") && row.contains(" succeeded "), "\(id) in\n\(listing.stdout)")
            }
            let unit = try vm.systemctl(["show", "-p", "Result", "-p", "User", "shipkeep-snapshot-bots.service"])
            #expect(unit.stdout.contains("Result=success"), "\(unit.stdout)")

            // A second install with the same flags changes nothing, and the timer goes on.
            let serviceFile = directory + "/shipkeep-snapshot-bots.service"
            let before = try vm.exec(["stat", "-c", "%i %Y", serviceFile, directory + "/" + Self.timer])
            let second = try install(vm, flags)
            #expect(changes(second) == ["kept"] && second["applied"] as? Bool == true, "\(second)")
            let after = try vm.exec(["stat", "-c", "%i %Y", serviceFile, directory + "/" + Self.timer])
            #expect(before.status == 0 && before.stdout == after.stdout, "\(before.stdout) → \(after.stdout)")
            let active = try vm.systemctl(["is-active", Self.timer])
            #expect(active.stdout.hasPrefix("active"), "\(active.stdout)")

            let removed = try install(vm, ["--remove-snapshot-timer"])
            #expect(changes(removed) == ["removed"] && removed["applied"] as? Bool == true, "\(removed)")
            let gone = try vm.systemctl(["list-timers", "--all", "--no-pager"])
            #expect(!gone.stdout.contains(Self.timer), "\(gone.stdout)")
            let files = try vm.exec(["ls", "-A", directory])
            #expect(!files.stdout.contains("shipkeep-snapshot-bots"), "\(files.stdout)")
            let again = try install(vm, ["--remove-snapshot-timer"])
            #expect(changes(again) == ["absent"], "\(again)")

            let history = jsonLines(try String(contentsOfFile: vm.sandbox.stateDir + "/history.jsonl", encoding: .utf8))
            #expect(history.filter { $0["action"] as? String == "snapshot" && $0["outcome"] as? String == "succeeded" }
                .count >= 2)
            #expect(try vm.linesLost() == 0)
        }
    }
}
