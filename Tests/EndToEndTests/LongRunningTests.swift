import Foundation
import Testing
import ShipkeepSandbox

/// Long silences: a hook that prints nothing for longer than the controller's read timeout, and a probe that
/// keeps one session open.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct LongRunningTests {
    @Test func aLongSilentHookDoesNotMakeTheControllerGiveUp() throws {
        try withSandbox(bot: true) { vm in
            try vm.writeAgentConfig(hooks: [["sleep", "12"]])
            let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let output = try shipkeep(["deploy", "--json", "--timeout", "8"] + vm.controllerArguments)
            #expect(output.status == 0, "\(output.stderr)")
            let heartbeats = jsonLines(output.stdout).filter {
                $0["type"] as? String == "progress" && $0["unit"] as? String == "seconds" && $0["phase"] as? String == "update"
            }
            #expect(heartbeats.count >= 2, "heartbeats while the hook ran: \(heartbeats.count)")
            #expect(try vm.liveCommit() == target)
        }
    }

    @Test func watchReprobesOverOneSession() throws {
        try withSandbox(bot: true) { vm in
            let output = try shipkeep(["status", "--json", "--watch", "0.3", "--count", "3"] + vm.controllerArguments)
            #expect(output.status == 0, "\(output.stderr)")
            let lines = jsonLines(output.stdout)
            #expect(lines.filter { $0["type"] as? String == "status" }.count == 3)
            #expect(lines.filter { $0["type"] as? String == "result" }.count == 3)
            let logins = vm.server.log().components(separatedBy: "Accepted publickey").count - 1
            #expect(logins == 1, "one SSH session for every probe, saw \(logins) logins")
        }
    }
}
