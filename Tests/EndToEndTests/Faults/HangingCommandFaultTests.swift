import Foundation
import Testing
import ShipkeepSandbox

/// Fault matrix, row group 7: a hook or a service command that hangs, leaving a background child behind in its
/// process group. It must be killed — the whole group — at its timeout, and the deploy must fail cleanly with
/// a rollback to the previous commit.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct HangingCommandFaultTests {
    /// A script that records its pid and a background child's, then hangs; both are in its process group.
    private static func hanging(_ pidFile: String) -> String {
        "#!/usr/bin/env bash\nsleep 300 &\necho \"$$ $!\" >> '\(pidFile)'\nsleep 300\n"
    }

    private func hungPIDs(_ file: String) throws -> [Int32] {
        try String(contentsOfFile: file, encoding: .utf8).split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    }

    @Test("a hook or service restart that hangs is killed with its process group at its timeout; the deploy rolls back",
          arguments: ["hook", "service restart"])
    func hangingCommand(kind: String) throws {
        try withSandbox(bot: false) { vm in
            let pidFile = vm.root + "/hung.pids"
            let isHook = kind == "hook"
            if isHook {
                try vm.writeAgentConfig(hooks: [["./after-update.sh"]], hookTimeout: 2)
            } else {
                try vm.writeAgentConfig(serviceTimeout: 2)
            }
            let script = isHook ? "after-update.sh" : "restart.sh"
            let fixture = try Faults.prepare(vm, commit: [script: Self.hanging(pidFile)])
            let started = Date()
            let output = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            let seconds = Date().timeIntervalSince(started)
            let error = Faults.result(output.stdout)?["error"] as? [String: Any]
            let code = error?["code"] as? String ?? "none"
            let message = error?["message"] as? String ?? ""
            #expect(output.status == 1, "\(output.stderr)")
            #expect(code == "rolled_back", "\(output.stdout.suffix(1500))")
            #expect(message.contains("timed out after 2s and was killed"), "\(message)")
            #expect(seconds < 60, "took \(seconds)s")

            let hung = try hungPIDs(pidFile)
            #expect(hung.count == 2)
            let survivors = hung.filter { processState($0) != nil && processState($0) != "Z" }
            #expect(survivors.isEmpty, "the hung command and its child are gone: \(survivors)")
            let app = try Faults.appStatus(vm)
            #expect(Faults.lastOutcome(app) == "rolled_back")
            #expect(app["lock"] == nil)
            #expect(try vm.liveCommit() == fixture.previous)
            #expect(try runProcess([vm.appPath + "/check.sh"]).status == 0, "the bot runs after the rollback")
            let lost = try Faults.linesLost(vm)
            #expect(try vm.dataChecksums() == fixture.checksums)

            try ReliabilityRecord(
                section: "faults", id: isHook ? "07-0" : "07-1", scenario: "a \(kind) that hangs",
                injection: "the new commit's \(isHook ? "after_update hook" : "restart command") starts a background "
                    + "child and sleeps; its timeout is 2 s",
                outcome: "deploy exit \(output.status), \(code) "
                    + "(\(message.contains("timed out") ? "timed out" : "other")); "
                    + (survivors.isEmpty ? "command and child killed; " : "processes left running; ")
                    + "status: \(Faults.lastOutcome(app)); \(try Faults.codeAt(vm, fixture)); \(Faults.lockState(app))",
                linesLost: lost, test: "HangingCommandFaultTests/hangingCommand(kind: \(kind))"
            ).write()
        }
    }
}
