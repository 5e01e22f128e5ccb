import Foundation
import Testing
@testable import Agent
@testable import Shared

/// The agent's protocol handling over an in-memory transport: lines in, events out.
@Suite struct AgentServerTests {
    final class Transcript: @unchecked Sendable {
        // @unchecked: appended to only from the test's own thread, synchronously.
        var events: [EventMessage] = []
    }

    private func server(_ transcript: Transcript, apps: String = "apps:\n  bots:\n    path: /nonexistent/bots\n")
        throws -> AgentServer {
        let config = try AgentConfig.parse(apps, file: "agent.yml", home: "/tmp")
        return AgentServer(config: config) { transcript.events.append($0) }
    }

    private func line(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func helloAnswersWithVersionCapabilitiesAndAppsThenAResult() throws {
        let transcript = Transcript()
        let agent = try server(transcript)
        #expect(agent.handle(line: line(#"{"v":1,"type":"hello","id":"h","client":"t","protocols":[1]}"#)) == .serve)
        #expect(transcript.events.map(\.seq) == [1, 2])
        #expect(transcript.events.allSatisfy { $0.id == "h" })
        guard case .hello(let hello) = transcript.events[0].event else { Issue.record("no hello"); return }
        #expect(hello.apps == ["bots"])
        #expect(hello.capabilities.contains("status"))
        #expect(transcript.events[1].event == .result(.success))
    }

    @Test func aCommandBeforeHelloIsAProtocolError() throws {
        let transcript = Transcript()
        let agent = try server(transcript)
        #expect(agent.handle(line: line(#"{"v":1,"type":"status","id":"1"}"#)) == .exit(2))
        guard case .result(let result) = transcript.events.last?.event else { Issue.record("no result"); return }
        #expect(result.error?.code == .unexpected)
    }

    @Test func aHelloWithoutAProtocolInCommonIsRefused() throws {
        let transcript = Transcript()
        let agent = try server(transcript)
        #expect(agent.handle(line: line(#"{"v":1,"type":"hello","id":"h","client":"t","protocols":[7]}"#)) == .exit(2))
        guard case .result(let result) = transcript.events.last?.event else { Issue.record("no result"); return }
        #expect(result.error?.code == .unsupportedVersion)
    }

    @Test(arguments: [
        ("not json", "malformed", nil as String?),
        (#"{"v":3,"type":"hello","id":"x"}"#, "unsupported_version", "x"),
        (#"{"v":1,"type":"exec","id":"y","argv":["sh"]}"#, "unknown_type", "y"),
        (#"{"v":1,"type":"deploy","id":"z"}"#, "invalid_message", "z"),
    ])
    func garbageIsAnsweredWithATypedErrorAndEndsTheSession(input: String, code: String, id: String?) throws {
        let transcript = Transcript()
        let agent = try server(transcript)
        _ = agent.handle(line: line(#"{"v":1,"type":"hello","id":"h","client":"t","protocols":[1]}"#))
        #expect(agent.handle(line: line(input)) == .exit(AgentServer.exitProtocolError))
        let last = try #require(transcript.events.last)
        #expect(last.id == id)
        guard case .result(let result) = last.event else { Issue.record("no result"); return }
        #expect(!result.ok)
        #expect(result.error?.code.rawValue == code)
    }

    @Test func anUnknownAppFailsOnlyThatRequest() throws {
        let transcript = Transcript()
        let agent = try server(transcript)
        _ = agent.handle(line: line(#"{"v":1,"type":"hello","id":"h","client":"t","protocols":[1]}"#))
        #expect(agent.handle(line: line(#"{"v":1,"type":"status","id":"2","app":"web"}"#)) == .serve)
        guard case .result(let result) = transcript.events.last?.event else { Issue.record("no result"); return }
        #expect(result.error?.code == .unknownApp)
        #expect(result.error?.message.contains("configured: bots") == true)
    }

    @Test func statusOfAMissingWorkTreeIsCriticalWithAReason() throws {
        let transcript = Transcript()
        let agent = try server(transcript)
        _ = agent.handle(line: line(#"{"v":1,"type":"hello","id":"h","client":"t","protocols":[1]}"#))
        #expect(agent.handle(line: line(#"{"v":1,"type":"status","id":"2"}"#)) == .serve)
        guard case .status(let report) = transcript.events.first(where: { $0.id == "2" })?.event else {
            Issue.record("no status"); return
        }
        #expect(report.health == .critical)
        #expect(report.apps.first?.reasons.first?.contains("git checkout") == true)
        #expect(transcript.events.last?.event == .result(.success))
    }

    @Test func anUnterminatedLastLineIsStillAnswered() throws {
        let transcript = Transcript()
        let agent = try server(transcript)
        #expect(agent.finish(pending: line("{\"v\":1")) == .exit(2))
        #expect(agent.finish(pending: nil) == .exit(0))
        #expect(agent.finish(pending: line("  ")) == .exit(0))
    }
}
