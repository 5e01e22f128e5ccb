import Testing
@testable import Shared

/// The controller's reader of the agent's output: JSON lines, and after each `frame` line exactly the raw bytes it
/// announces; a lying length, a stream cut inside a frame or garbage where a line should begin is refused.
@Suite struct EventReaderTests {
    private func line(_ event: Event, seq: Int) -> [UInt8] {
        WireCodec.encode(EventMessage(id: "7", seq: seq, event: event)) + [UInt8(ascii: "\n")]
    }

    /// A frame as the agent writes it: its line, then the bytes.
    private func frame(_ data: [UInt8], seq: Int) -> [UInt8] {
        line(.frame(.init(data: data)), seq: seq) + data
    }

    private let progress = Event.progress(.init(phase: .download, done: 5, total: 10, unit: "bytes"))

    @Test func framesAndLinesSplitAnywhereComeOutWhole() throws {
        // Raw bytes that hold newlines and look like JSON must not be taken for lines.
        let first = Array("{\"v\":1}\n\n\r\n".utf8) + [0, 255, 10]
        let second = (0..<3000).map { UInt8($0 % 251) }
        let stream = line(progress, seq: 1) + frame(first, seq: 2) + frame(second, seq: 3)
            + line(.result(.success), seq: 4)
        let expected = [EventMessage(id: "7", seq: 1, event: progress),
                        EventMessage(id: "7", seq: 2, event: .frame(.init(data: first))),
                        EventMessage(id: "7", seq: 3, event: .frame(.init(data: second))),
                        EventMessage(id: "7", seq: 4, event: .result(.success))]
        for size in [1, 7, 64, stream.count] {
            var reader = EventReader()
            var messages: [EventMessage] = []
            var start = 0
            while start < stream.count {
                let end = min(start + size, stream.count)
                messages += try reader.append(Array(stream[start..<end]))
                start = end
            }
            try reader.finish()
            #expect(messages == expected, "in pieces of \(size)")
        }
    }

    @Test func aStreamCutInsideAFrameIsRefusedAtItsEnd() throws {
        var reader = EventReader()
        let whole = frame([UInt8](repeating: 0x41, count: 100), seq: 1)
        #expect(try reader.append(Array(whole.dropLast(40))).isEmpty)
        #expect(reader.frameProgress! == (60, 100))
        #expect(throws: ProtocolError(.malformed, "the output ended 60 bytes into a frame of 100 bytes")) {
            try reader.finish()
        }
    }

    @Test(arguments: [Event.Frame.maxBytes + 1, Int.max, -1])
    func aLengthOverTheLimitIsRefusedBeforeAnyOfItIsRead(bytes: Int) throws {
        var reader = EventReader()
        let header = line(.frame(.init(announcing: bytes)), seq: 1)
        #expect(throws: ProtocolError(.invalidMessage, "a frame announces \(bytes) bytes; a frame holds 0 to "
            + "\(Event.Frame.maxBytes)")) {
            _ = try reader.append(header + [1, 2, 3])
        }
        #expect(reader.frameProgress == nil, "nothing allocated or waited for")
    }

    @Test func aShorterLengthThanSentLeavesGarbageWhereALineShouldBeginWhichIsRefused() throws {
        // Announces 4 of the 10 bytes sent: the other 6 and the next line run together into a line that is not JSON.
        var reader = EventReader()
        let data = Array("abcdefghij".utf8)
        let lying = line(.frame(.init(announcing: 4)), seq: 1) + data + line(.result(.success), seq: 2)
        #expect { _ = try reader.append(lying) } throws: { error in
            (error as? ProtocolError)?.code == .malformed
        }
    }

    @Test func aLongerLengthThanSentSwallowsWhatFollowsAndEndsInsideTheFrame() throws {
        var reader = EventReader()
        let data = Array("abcdefghij".utf8)
        let result = line(.result(.success), seq: 2)
        let lying = line(.frame(.init(announcing: 4096)), seq: 1) + data + result
        #expect(try reader.append(lying).isEmpty, "the result was taken for frame bytes")
        #expect(throws: ProtocolError.self) { try reader.finish() }
    }

    @Test func garbageBetweenFramesIsRefused() throws {
        var reader = EventReader()
        let stream = frame([1, 2, 3], seq: 1) + Array("\u{1}garbage\n".utf8) + frame([4], seq: 2)
        #expect(throws: ProtocolError.self) { _ = try reader.append(stream) }
        // Garbage with no newline at all is refused once it passes the line limit, without being kept.
        var unending = EventReader(lineLimit: 1024)
        _ = try unending.append(frame([1, 2, 3], seq: 1))
        #expect(throws: ProtocolError(.lineTooLong, "a line is longer than 1024 bytes")) {
            for _ in 0..<4 { _ = try unending.append([UInt8](repeating: 0xFF, count: 512)) }
        }
    }

    @Test func anEmptyFrameIsAnEventWithNoBytes() throws {
        var reader = EventReader()
        let messages = try reader.append(frame([], seq: 1) + line(.result(.success), seq: 2))
        #expect(messages.map(\.event) == [.frame(.init(data: [])), .result(.success)])
    }

    @Test func theControllerAsksForFramesOnlyFromAnAgentThatListsThem() {
        // A new agent's hello lists download.frames; an old one's does not, and gets the base64 chunks.
        #expect(DownloadFraming.best(capabilities: ["download", "download.zstd", "download.frames"]) == .frames)
        #expect(DownloadFraming.best(capabilities: ["download", "download.zstd"]) == .chunks)
        #expect(DownloadFraming.best(capabilities: []) == .chunks)
    }
}
