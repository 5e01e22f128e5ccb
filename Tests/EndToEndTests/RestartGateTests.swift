import Foundation
import Glibc
import Testing
import ShipkeepSandbox

/// agent.yml's `gate:` through a real sshd: it holds a deploy (before anything changes) until it says go,
/// refuses a deploy and a restart once `gate_timeout` runs out with the code unchanged, and `--ignore-gate`
/// overrides it.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct RestartGateTests {
    /// A gate that says busy while `flag` exists, and prints a line with an escape sequence in it.
    private func installGate(_ vm: VMSandbox, flag: String, timeout: Int) throws {
        try vm.writeScript("gate.sh", """
            #!/usr/bin/env bash
            if [ -e "\(flag)" ]; then
              echo "checking positions"
              printf 'open trade BTC-USD \\033[31mlong\\033[0m\\n'
              exit 1
            fi
            echo "flat: go"
            """)
        try vm.extendAgentConfig(app: ["gate: [\"./gate.sh\"]", "gate_timeout: \(timeout)"])
    }

    @Test("the gate holds a deploy until it says go; nothing changes meanwhile")
    func theGateHoldsADeployUntilGo() throws {
        try withSandbox(bot: true) { vm in
            let flag = vm.root + "/trade-open"
            #expect(FileManager.default.createFile(atPath: flag, contents: Data()))
            try installGate(vm, flag: flag, timeout: 120)
            let before = try vm.liveCommit()
            let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deploy = try BackgroundShipkeep(["deploy", "--json"] + vm.controllerArguments)
            let busy = try deploy.waitForLine { $0.contains("\"source\":\"gate\"") && $0.contains("busy after") }
            #expect(busy.contains("open trade BTC-USD"), "\(busy)")
            #expect(busy.contains("\\\\u{1b}[31mlong"), "the gate's output is escaped: \(busy)")
            #expect(try vm.liveCommit() == before, "nothing changed while the gate said busy")
            #expect(!deploy.output.contains("\"name\":\"snapshot\""), "no snapshot before the gate said go")
            #expect(deploy.isRunning)
            try FileManager.default.removeItem(atPath: flag)
            #expect(try deploy.wait() == 0, "\(deploy.errorOutput)")
            #expect(try vm.liveCommit() == target)
            let completed = events(deploy.output, "phase").filter { $0["state"] as? String == "completed" }
                .compactMap { $0["name"] as? String }
            #expect(completed == ["preflight", "snapshot", "update", "verify", "restart", "health"])
        }
    }

    @Test("after gate_timeout the deploy and the restart are refused with the code unchanged; --ignore-gate goes ahead")
    func theGateRefusesAfterItsTimeout() throws {
        try withSandbox(bot: true) { vm in
            let flag = vm.root + "/trade-open"
            #expect(FileManager.default.createFile(atPath: flag, contents: Data()))
            try installGate(vm, flag: flag, timeout: 3)
            let before = try vm.liveCommit()
            let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let started = Date()
            let deploy = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(deploy.status == 1, "\(deploy.stderr)")
            #expect(Date().timeIntervalSince(started) >= 3, "it waited for the gate")
            #expect(resultCode(deploy.stdout) == "gate_busy")
            #expect(deploy.stderr.contains("the gate said busy for 3 s: open trade BTC-USD \\u{1b}[31mlong"),
                    "\(deploy.stderr)")
            #expect(!deploy.stderr.contains("\u{1B}"), "no raw escape from the gate reaches the terminal")
            #expect(try vm.liveCommit() == before, "the code is unchanged")
            #expect(!deploy.stdout.contains("\"name\":\"snapshot\""))

            let pid = vm.botPID()
            let restart = try shipkeep(["restart", "--json"] + vm.controllerArguments)
            #expect(restart.status == 1, "\(restart.stderr)")
            #expect(resultCode(restart.stdout) == "gate_busy")
            #expect(vm.botPID() == pid, "the bot was not restarted")
            let record = try #require(jsonLines(try String(contentsOfFile: vm.stateDir + "/history.jsonl",
                                                           encoding: .utf8)).last)
            #expect(record["outcome"] as? String == "refused")

            let forced = try shipkeep(["restart", "--json", "--ignore-gate"] + vm.controllerArguments)
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(events(forced.stdout, "warning").contains { $0["code"] as? String == "gate_ignored" })
            #expect(vm.botPID() != pid)
            let ignored = try shipkeep(["deploy", "--json", "--ignore-gate"] + vm.controllerArguments)
            #expect(ignored.status == 0, "\(ignored.stderr)")
            #expect(try vm.liveCommit() == target)
        }
    }
}
