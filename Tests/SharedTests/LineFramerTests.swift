import Testing
@testable import Shared

@Suite struct LineFramerTests {
    @Test func splitsLinesAcrossArbitraryChunks() throws {
        var framer = LineFramer()
        let text = Array("{\"a\":1}\n{\"b\":2}\r\n{\"c\":".utf8)
        var lines: [[UInt8]] = []
        for byte in text { lines += try framer.append([byte]) }
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == ["{\"a\":1}", "{\"b\":2}"])
        lines = try framer.append(Array("3}\n".utf8))
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == ["{\"c\":3}"])
        #expect(framer.finish() == nil)
    }

    @Test func manyLinesInOneChunk() throws {
        var framer = LineFramer()
        let lines = try framer.append(Array("a\nb\n\nc\nrest".utf8))
        #expect(lines.count == 4)
        #expect(framer.finish() == Array("rest".utf8))
    }

    @Test func aLineAtTheLimitIsAcceptedAndOneByteMoreIsNot() throws {
        var framer = LineFramer(limit: 16)
        #expect(try framer.append([UInt8](repeating: 0x61, count: 16) + [0x0A]).count == 1)
        #expect(throws: ProtocolError(.lineTooLong, "a line is longer than 16 bytes")) {
            _ = try framer.append([UInt8](repeating: 0x61, count: 17))
        }
    }

    @Test func anOversizedLineIsRefusedWithoutBufferingIt() throws {
        var framer = LineFramer()
        let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)
        var refused = false
        for _ in 0..<32 {
            do {
                _ = try framer.append(chunk)
            } catch {
                refused = true
                break
            }
            #expect(framer.pendingByteCount <= WireProtocol.maxLineBytes)
        }
        #expect(refused)
        #expect(framer.pendingByteCount == 0)
    }
}
