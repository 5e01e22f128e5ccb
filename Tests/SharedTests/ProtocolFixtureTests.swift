import Foundation
import Testing
@testable import Shared

/// The sample lines under Fixtures/ are the wire contract: each must decode, and re-encode to the same bytes.
@Suite struct ProtocolFixtureTests {
    static func fixtures(_ kind: String) -> [(name: String, line: [UInt8])] {
        guard let dir = Bundle.module.url(forResource: "Fixtures/\(kind)", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return names.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: dir.path + "/" + name) else { return nil }
            var bytes = Array(data)
            if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
            return (name, bytes)
        }
    }

    @Test("every request fixture round-trips byte for byte", arguments: fixtures("requests").map(\.name))
    func requestRoundTrip(name: String) throws {
        let line = try #require(Self.fixtures("requests").first { $0.name == name }).line
        let request = try WireCodec.decodeRequest(line)
        #expect(String(decoding: WireCodec.encode(request), as: UTF8.self) == String(decoding: line, as: UTF8.self))
    }

    @Test("every event fixture round-trips byte for byte", arguments: fixtures("events").map(\.name))
    func eventRoundTrip(name: String) throws {
        let line = try #require(Self.fixtures("events").first { $0.name == name }).line
        let event = try WireCodec.decodeEvent(line)
        #expect(String(decoding: WireCodec.encode(event), as: UTF8.self) == String(decoding: line, as: UTF8.self))
    }

    @Test func everyCommandAndEventTypeHasAFixture() throws {
        let requestTypes = Set(try Self.fixtures("requests").map { try WireCodec.decodeRequest($0.line).command.type })
        #expect(requestTypes == Set(Command.allTypes))
        let eventTypes = Set(try Self.fixtures("events").map { try WireCodec.decodeEvent($0.line).event.type })
        #expect(eventTypes == ["hello", "phase", "progress", "log", "warning", "status", "started", "snapshots",
                               "archive", "manifest", "chunk", "frame", "env", "history", "ship_tips", "ship_ready",
                               "backups", "result"])
    }

    @Test func decodedFixturesCarryTheirFields() throws {
        let deploy = try #require(Self.fixtures("requests").first { $0.name == "deploy.json" })
        let request = try WireCodec.decodeRequest(deploy.line)
        #expect(request.id == "3")
        guard case .deploy(let payload) = request.command else { Issue.record("not a deploy"); return }
        #expect(payload.app == "bots")
        #expect(payload.commit == "3f2c1e0b9a8d7c6b5a4f3e2d1c0b9a8d7c6b5a4f")
        #expect(payload.ref == nil)

        let status = try #require(Self.fixtures("events").first { $0.name == "status.json" })
        let message = try WireCodec.decodeEvent(status.line)
        guard case .status(let report) = message.event else { Issue.record("not a status"); return }
        #expect(report.health == .warning)
        #expect(report.apps.first?.data.first?.files == 1000)
        #expect(report.apps.first?.lock?.pid == 4242)
        #expect(report.apps.first?.snapshots?.kinds == ["append": 990, "mutable": 8, "sqlite": 2])
        #expect(message.seq == 1)
    }
}
