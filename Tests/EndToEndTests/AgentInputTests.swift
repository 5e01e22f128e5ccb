import Foundation
import Testing
import ShipkeepSandbox

/// Hostile and broken input on the agent's stdin, delivered through a real sshd with the forced-command key
/// by OpenSSH's own client: an error result and a non-zero exit, never a crash, a hang or a shell.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct AgentInputTests {
    private func ssh(_ vm: VMSandbox, command: String = "", stdin: String) throws -> ProcessResult {
        var argv = ["ssh", "-T", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                    "-o", "UserKnownHostsFile=\(vm.server.knownHostsPath)", "-o", "IdentitiesOnly=yes",
                    "-i", vm.server.userKeyPath, "-p", String(vm.server.port),
                    "\(vm.server.user)@\(vm.server.listenAddress)"]
        if !command.isEmpty { argv.append(command) }
        return try runProcess(argv, environment: ["SSH_AUTH_SOCK": ""], stdin: stdin)
    }

    private func lastResult(_ output: String) -> [String: Any]? {
        jsonLines(output).last { $0["type"] as? String == "result" }
    }

    private static let hello = #"{"v":1,"type":"hello","id":"h","client":"test","protocols":[1]}"# + "\n"

    @Test(arguments: [
        ("garbage\n", "malformed"),
        (#"{"v":99,"type":"hello","id":"1"}"# + "\n", "unsupported_version"),
        (hello + #"{"v":1,"type":"rm -rf /","id":"2"}"# + "\n", "unknown_type"),
        (hello + #"{"v":1,"type":"status","id":"3","app":{"$gt":""}}"# + "\n", "invalid_message"),
        (#"{"v":1,"type":"status","id":"4"}"# + "\n", "unexpected"),
        ("\u{0}\u{1}\u{2}\u{FF}\n", "malformed"),
    ])
    func badInputGetsATypedErrorAndANonZeroExit(input: String, code: String) throws {
        try withSandbox { vm in
            let result = try ssh(vm, stdin: input)
            #expect(result.status == 2, "exit \(result.status): \(result.stderr)")
            let error = lastResult(result.stdout)?["error"] as? [String: Any]
            #expect(error?["code"] as? String == code, "\(result.stdout)")
        }
    }

    @Test func anOversizedLineIsRefusedWithoutReadingItAll() throws {
        try withSandbox { vm in
            let huge = Self.hello + String(repeating: "x", count: 3 << 20) + "\n"
            let result = try ssh(vm, stdin: huge)
            #expect(result.status == 2)
            #expect((lastResult(result.stdout)?["error"] as? [String: Any])?["code"] as? String == "line_too_long")
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() throws {
        try withSandbox { vm in
            let deep = #"{"v":1,"type":"status","id":"5","app":"# + String(repeating: "[", count: 200_000) + "}\n"
            let result = try ssh(vm, stdin: Self.hello + deep)
            #expect(result.status == 2, "exit \(result.status): \(result.stderr)")
            #expect(lastResult(result.stdout)?["ok"] as? Bool == false)
        }
    }

    @Test func theForcedCommandKeyReachesTheAgentNotAShell() throws {
        try withSandbox { vm in
            let marker = vm.root + "/pwned"
            let result = try ssh(vm, command: "touch \(marker); sh", stdin: "id\n")
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(result.status == 2)
            #expect((lastResult(result.stdout)?["error"] as? [String: Any])?["code"] as? String == "malformed")
        }
    }

    @Test func aWellFormedSessionEndsWithExitZero() throws {
        try withSandbox { vm in
            let result = try ssh(vm, stdin: Self.hello + #"{"v":1,"type":"status","id":"2","app":"bots"}"# + "\n")
            #expect(result.status == 0, "\(result.stderr)")
            let events = jsonLines(result.stdout)
            #expect(events.map { $0["type"] as? String } == ["hello", "result", "status", "result"])
            #expect(events.map { $0["seq"] as? Int } == [1, 2, 1, 2])
        }
    }
}
