import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared

/// `download` over an in-memory transport, as each kind of controller asks for it: one that asks for frames gets
/// the archive as raw frames, one from before frames (no `framing`) gets the base64 chunks, and both get the same
/// archive, byte for byte.
@Suite(.serialized, .timeLimit(.minutes(10))) struct DownloadFramingTests {
    private let tmp: TemporaryDirectory
    private let config: AgentConfig

    init() throws {
        tmp = try TemporaryDirectory()
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    data: [out]\n    state: \(tmp.path)/state\n"
            + "    snapshots: { dir: \(tmp.path)/snapshots, keep: 5 }\n"
        config = try AgentConfig.parse(yaml, file: "agent.yml")
        let app = try #require(config.app("bots"))
        // Enough for several frames whatever zstd makes of it: 3 MiB that do not compress, and some that do.
        try tmp.write("app/out/signals.jsonl", String(repeating: "{\"seq\":1,\"px\":97000.5}\n", count: 20000))
        var random = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 3 << 20)
        bytes.withUnsafeMutableBytes { raw in
            for offset in stride(from: 0, to: raw.count, by: 8) {
                raw.storeBytes(of: random.next() as UInt64, toByteOffset: offset, as: UInt64.self)
            }
        }
        #expect(FileManager.default.createFile(atPath: tmp.path + "/app/out/random.bin", contents: Data(bytes)))
        let store = SnapshotStore(dir: app.snapshots.dir)
        let scan = try DataScan.walk(root: app.path, dataDirs: app.data)
        _ = try store.create(root: app.path, dataDirs: app.data, scan: scan, deploy: "d-test", commit: nil) { _, _ in }
    }

    /// The events of one `download` request (`framing` as the controller sends it), after `hello`.
    private func download(framing: String?) throws -> [EventMessage] {
        var events: [EventMessage] = []
        let agent = AgentServer(config: config) { events.append($0) }
        _ = agent.handle(line: Array(#"{"v":1,"type":"hello","id":"h","client":"t","protocols":[1]}"#.utf8))
        let request = Request(id: "d", command: .download(.init(app: "bots", format: "tar+zstd", framing: framing)))
        #expect(agent.handle(line: WireCodec.encode(request)) == .serve)
        return events.filter { $0.id == "d" }
    }

    @Test func framesCarryTheSameArchiveAsChunksAndSurviveTheWire() throws {
        let framed = try download(framing: "frames")
        let chunked = try download(framing: nil)
        #expect(framed.last?.event == .result(.success) && chunked.last?.event == .result(.success))
        guard case .archive(let archive) = framed.first?.event, case .archive(let old) = chunked.first?.event else {
            Issue.record("no archive event first")
            return
        }
        #expect(archive.framing == "frames" && old.framing == nil, "the archive event says which came")

        var frames: [[UInt8]] = []
        var chunks: [[UInt8]] = []
        for message in framed {
            if case .frame(let frame) = message.event { frames.append(frame.data) }
            #expect(message.event.type != "chunk", "no base64 chunk to a controller that asked for frames")
        }
        for message in chunked {
            if case .chunk(let chunk) = message.event { chunks.append(chunk.data) }
            #expect(message.event.type != "frame", "no frame to a controller from before frames")
        }
        #expect(frames.count >= 3 && frames.dropLast().allSatisfy { $0.count == Event.Frame.maxBytes })
        #expect(frames.last.map { !$0.isEmpty && $0.count <= Event.Frame.maxBytes } == true)
        #expect(chunks.allSatisfy { $0.count <= Event.Chunk.maxBytes })
        #expect(frames.flatMap { $0 } == chunks.flatMap { $0 }, "byte for byte the same archive")

        // On the wire as `serve` writes it (each frame's bytes right after its line), read back by the
        // controller's reader in pieces that split lines and frames anywhere: the same events, bytes and all.
        var wire: [UInt8] = []
        for message in framed {
            wire += WireCodec.encode(message) + [UInt8(ascii: "\n")]
            if case .frame(let frame) = message.event { wire += frame.data }
        }
        var reader = EventReader()
        var read: [EventMessage] = []
        var start = 0
        while start < wire.count {
            let end = min(start + 100_003, wire.count)
            read += try reader.append(Array(wire[start..<end]))
            start = end
        }
        try reader.finish()
        #expect(read == framed)
    }

    @Test func aFramingThisAgentDoesNotKnowIsRefusedWithWhatItCanDo() throws {
        let events = try download(framing: "carrier-pigeon")
        guard case .result(let result) = events.last?.event else { Issue.record("no result"); return }
        #expect(result.error?.code == .unsupportedFormat)
        #expect(result.error?.message.contains("only as chunks, frames") == true, "\(result)")
        #expect(events.count == 1, "refused before anything was sent")
    }

    @Test func helloListsTheFramesCapability() {
        #expect(AgentServer.capabilities.contains("download.frames"))
        #expect(AgentServer.capabilities.contains("download.zstd"))
    }
}
