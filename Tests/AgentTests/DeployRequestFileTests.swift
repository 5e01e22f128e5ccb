import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared
import struct ShipkeepSandbox.ReliabilityRecord

/// The worker reads its request back only from a private file of its own user: not through a link, not from a
/// file others can read or write, not another deploy's request.
@Suite(.timeLimit(.minutes(10))) struct DeployRequestFileTests {
    private let tmp: TemporaryDirectory
    private let state: StateDirectory
    private let request = Command.Deploy(app: "bots", commit: "abc1234", controller: "ci")

    init() throws {
        tmp = try TemporaryDirectory()
        state = StateDirectory(path: tmp.path + "/state")
    }

    private func refusal(_ deploy: String) -> String? {
        do {
            _ = try DeployRequestFile.read(deploy: deploy, state: state)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func onlyAPrivateRegularFileNamingTheDeployIsRead() throws {
        try DeployRequestFile.write(request, deploy: "d-1", state: state)
        var info = stat()
        #expect(stat(state.request("d-1"), &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try DeployRequestFile.read(deploy: "d-1", state: state) == request)

        chmod(state.request("d-1"), 0o644)
        let readable = refusal("d-1")
        #expect(readable?.contains("chmod 600") == true, "\(readable ?? "read")")

        // A link at the request's name, to another deploy's request: refused, not followed.
        try DeployRequestFile.write(request, deploy: "d-2", state: state)
        #expect(symlink(state.request("d-2"), state.request("d-3")) == 0)
        let linked = refusal("d-3")
        #expect(linked != nil)

        // A private file that holds another deploy's request.
        try FileManager.default.copyItem(atPath: state.request("d-2"), toPath: state.request("d-4"))
        let other = refusal("d-4")
        #expect(other != nil)

        try ReliabilityRecord.hostileInput(
            id: "22-3", scenario: "the worker's request file readable by others, replaced by a link, or holding "
                + "another deploy's request",
            injection: "chmod 644 of a request file; a symlink at a request's name; a copy under another id",
            outcome: [readable, linked, other].allSatisfy { $0 != nil } ? "all three refused, none read"
                : "read: \([readable, linked, other].filter { $0 == nil }.count) of 3",
            test: "DeployRequestFileTests/onlyAPrivateRegularFileNamingTheDeployIsRead()"
        ).write()
    }

    /// The worker holds agent.yml to the rule `serve` does before it reads anything else: a file another user
    /// may write names no command the worker runs.
    @Test func theWorkerRefusesAnAgentYmlOthersCanWrite() throws {
        try tmp.write("etc/agent.yml", "apps:\n  bots:\n    path: \(tmp.path)/bots\n    state: \(state.path)\n")
        let file = tmp.path + "/etc/agent.yml"
        chmod(tmp.path + "/etc", 0o755)
        try DeployRequestFile.write(request, deploy: "d-5", state: state)
        chmod(file, 0o666)
        var refusal = ""
        do {
            let worker = try WorkerCommand.parse(["--config", file, "--app", "bots", "--deploy", "d-5"])
            try worker.run()
        } catch {
            refusal = "\(error)"
        }
        #expect(refusal.contains("refusing to use \(file)") && refusal.contains("chmod go-w"), "\(refusal)")
        #expect(!FileManager.default.fileExists(atPath: state.journal("d-5")), "nothing was started")
    }
}
