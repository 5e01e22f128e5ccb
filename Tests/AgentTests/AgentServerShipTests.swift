import Foundation
import Testing
@testable import Agent
@testable import Shared

/// The agent's side of `deploy --ship` over an in-memory transport: what it takes before, during and instead of
/// a bundle's chunks, and that an upload it gives up leaves no file behind.
@Suite(.timeLimit(.minutes(10))) struct AgentServerShipTests {
    final class Transcript: @unchecked Sendable {
        // @unchecked: appended to only from the test's own thread, synchronously.
        var events: [EventMessage] = []
    }

    private static let commit = String(repeating: "ab", count: 20)

    /// A server for one app whose state dir is a fresh temporary directory (returned too).
    private func server(_ transcript: Transcript, ship: Bool = true) throws -> (AgentServer, String) {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("ship-\(UUID().uuidString)").path
        let yaml = "apps:\n  bots:\n    path: /nonexistent/bots\n    state: \(state)\n    ship: \(ship)\n"
            + "    ship_max_bytes: 1000\n"
        let agent = AgentServer(config: try AgentConfig.parse(yaml, file: "agent.yml", home: "/tmp")) {
            transcript.events.append($0)
        }
        _ = agent.handle(line: Array(#"{"v":1,"type":"hello","id":"h","client":"t","protocols":[1]}"#.utf8))
        return (agent, state)
    }

    private func deploy(ship: Int64, commit: String = commit) -> [UInt8] {
        Array(#"{"v":1,"type":"deploy","id":"d","app":"bots","commit":"\#(commit)","ship":\#(ship)}"#.utf8)
    }

    private func chunk(_ bytes: [UInt8], id: String = "d") -> [UInt8] {
        Array(#"{"v":1,"type":"ship_chunk","id":"\#(id)","data":"\#(Data(bytes).base64EncodedString())"}"#.utf8)
    }

    private func lastError(_ transcript: Transcript) -> WireError? {
        guard case .result(let result) = transcript.events.last?.event else { return nil }
        return result.error
    }

    private func files(_ state: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: state + "/deploys")) ?? []
    }

    @Test func aDeployThatShipsIsAnsweredShipReadyAndAnotherRequestMidwayEndsItLeavingNothing() throws {
        let transcript = Transcript()
        let (agent, state) = try server(transcript)
        defer { try? FileManager.default.removeItem(atPath: state) }
        #expect(agent.handle(line: deploy(ship: 100)) == .serve)
        #expect(transcript.events.last?.event == .shipReady(.init(bytes: 100)))
        #expect(files(state).contains { $0.hasSuffix(".bundle.part") })
        #expect(agent.handle(line: chunk(Array(repeating: 7, count: 40))) == .serve)
        #expect(agent.handle(line: Array(#"{"v":1,"type":"status","id":"s"}"#.utf8)) == .exit(2))
        #expect(transcript.events.last?.id == "d")
        #expect(lastError(transcript)?.code == .unexpected)
        #expect(files(state).isEmpty, "\(files(state))")
    }

    @Test func aChunkOfAnotherRequestOrWithNoDeployIsAProtocolError() throws {
        let transcript = Transcript()
        let (agent, state) = try server(transcript)
        defer { try? FileManager.default.removeItem(atPath: state) }
        #expect(agent.handle(line: chunk([1, 2, 3])) == .exit(2))
        #expect(lastError(transcript)?.code == .unexpected)
        let (second, secondState) = try server(transcript)
        defer { try? FileManager.default.removeItem(atPath: secondState) }
        _ = second.handle(line: deploy(ship: 10))
        #expect(second.handle(line: chunk([1, 2, 3], id: "other")) == .exit(2))
        #expect(files(secondState).isEmpty)
    }

    @Test func refusalsComeBeforeAnyByteIsTaken() throws {
        let transcript = Transcript()
        let (off, offState) = try server(transcript, ship: false)
        defer { try? FileManager.default.removeItem(atPath: offState) }
        #expect(off.handle(line: deploy(ship: 10)) == .serve)
        #expect(lastError(transcript)?.code == .shipNotAllowed)
        #expect(off.handle(line: Array(#"{"v":1,"type":"ship_tips","id":"t","app":"bots"}"#.utf8)) == .serve)
        #expect(lastError(transcript)?.code == .shipNotAllowed)

        let (agent, state) = try server(transcript)
        defer { try? FileManager.default.removeItem(atPath: state) }
        for (line, code) in [(deploy(ship: 1001), "ship_too_large"), (deploy(ship: 0), "bad_ship"),
                             (deploy(ship: 10, commit: "abc123"), "bad_commit")] {
            #expect(agent.handle(line: line) == .serve)
            #expect(lastError(transcript)?.code.rawValue == code)
        }
        #expect(files(state).isEmpty)
    }

    @Test func theEndOfInputMidwayRemovesThePartialBundle() throws {
        let transcript = Transcript()
        let (agent, state) = try server(transcript)
        defer { try? FileManager.default.removeItem(atPath: state) }
        _ = agent.handle(line: deploy(ship: 100))
        _ = agent.handle(line: chunk([1, 2, 3]))
        #expect(agent.finish(pending: nil) == .exit(0))
        #expect(files(state).isEmpty, "\(files(state))")
    }
}
