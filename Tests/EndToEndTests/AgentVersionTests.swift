import Foundation
import Testing
import ShipkeepSandbox

/// An agent of another version is named, with the one command that fixes it.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct AgentVersionTests {
    /// A stand-in agent that answers `hello` with `reply` and then every request with an error.
    private func fakeAgent(_ vm: VMSandbox, reply: String) throws -> String {
        let path = vm.root + "/old-agent.sh"
        try """
            #!/bin/sh
            read -r hello
            echo '\(reply)'
            echo '{"id":"1","ok":true,"seq":2,"type":"result","v":1}'
            while read -r line; do
              echo '{"error":{"code":"unsupported","message":"not in this version"},"id":"2","ok":false,"seq":1,"type":"result","v":1}'
            done

            """.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    @Test func anOlderAgentIsAWarningThatNamesInstall() throws {
        try withSandbox(forcedCommand: false) { vm in
            let old = try fakeAgent(vm, reply: #"{"agentVersion":"0.0.9","apps":["bots"],"capabilities":["hello","status"],"id":"1","protocol":1,"seq":1,"type":"hello","v":1}"#)
            let result = try shipkeep(["status", "--timeout", "10", "--agent-command", old] + vm.controllerArguments)
            #expect(result.stderr.contains("the agent on \(vm.server.user)@\(vm.server.listenAddress):\(vm.server.port) "
                + "is version 0.0.9 and this shipkeep is 0.1.0; `shipkeep install \(vm.server.listenAddress)`"),
                    "\(result.stderr)")
        }
    }

    @Test func anAgentOfAnotherProtocolIsAnErrorThatNamesInstall() throws {
        try withSandbox(forcedCommand: false) { vm in
            let newer = try fakeAgent(vm, reply: #"{"error":{"code":"unsupported_version","message":"this agent speaks protocol v2"},"id":"1","ok":false,"seq":1,"type":"result","v":1}"#)
            let result = try shipkeep(["deploy", "--agent-command", newer] + vm.controllerArguments)
            #expect(result.status == 3, "\(result.stderr)")
            #expect(result.stderr.contains("this agent speaks protocol v2; the agent speaks another protocol version: "
                + "`shipkeep install"), "\(result.stderr)")
        }
    }
}
