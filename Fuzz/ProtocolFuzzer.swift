import Foundation

/// libFuzzer entry point for the wire protocol: framing, header, request and event decoding, and the
/// decode → encode → decode round trip of whatever decodes.
///
/// Built by `scripts/fuzz.sh` with `swiftc -sanitize=fuzzer,address` over the Shared protocol sources (one
/// module, no package). A crash, a sanitizer report or a broken invariant below is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    // The first byte picks the chunk size and the line limit, so the same lines are also framed split
    // across reads and against a limit small enough to be hit.
    let selector = Int(input.first ?? 0)
    let chunkSize = 1 + selector % 17
    let limit = selector & 0x80 == 0 ? WireProtocol.maxLineBytes : 64 + selector % 64
    checkFraming(input, chunkSize: chunkSize, limit: limit)
    checkEventReader(input, chunkSize: chunkSize, limit: limit)
    var framer = LineFramer()
    let lines = ((try? framer.append(input)) ?? []) + (framer.finish().map { [$0] } ?? [])
    for line in lines { checkLine(line) }
    return 0
}

/// Framing invariants: no line holds a newline or exceeds the limit, and (when nothing was rejected) the
/// lines are exactly the input split at newlines, whatever the chunking.
private func checkFraming(_ input: [UInt8], chunkSize: Int, limit: Int) {
    var framer = LineFramer(limit: limit)
    var lines: [[UInt8]] = []
    var rejected = false
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + chunkSize)
        do {
            lines += try framer.append(Array(input[offset..<end]))
        } catch {
            guard error.code == .lineTooLong else { fatalError("framer threw \(error)") }
            rejected = true
        }
        require(framer.pendingByteCount <= limit, "framer buffers \(framer.pendingByteCount) > \(limit) bytes")
        offset = end
    }
    if let last = framer.finish() { lines.append(last) }
    for line in lines {
        require(!line.contains(UInt8(ascii: "\n")), "a framed line holds a newline")
        require(line.count <= limit, "a framed line of \(line.count) bytes passed the \(limit)-byte limit")
    }
    guard !rejected else { return }
    var expected = input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
    if expected.last?.isEmpty == true { expected.removeLast() }
    expected = expected.enumerated().map { index, line in
        // A "\r" before a newline is dropped; the unterminated last line is returned as it is.
        let terminated = index < expected.count - 1 || input.last == UInt8(ascii: "\n")
        return terminated && line.last == UInt8(ascii: "\r") ? Array(line.dropLast()) : line
    }
    require(lines == expected, "framing lost or changed bytes")
}

/// The reader of the agent's output (lines and binary frames): whatever the input and its chunking, a frame comes
/// out with exactly the bytes it announced, a frame in progress never holds more than the frame limit, and the
/// only failure is a ``ProtocolError`` (typed), after which the input is not read further.
private func checkEventReader(_ input: [UInt8], chunkSize: Int, limit: Int) {
    let frameLimit = 1 + limit % 300
    var reader = EventReader(lineLimit: limit, frameLimit: frameLimit)
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + chunkSize)
        let messages: [EventMessage]
        do {
            messages = try reader.append(Array(input[offset..<end]))
        } catch {
            _ = error.code
            return
        }
        for message in messages {
            if case .frame(let frame) = message.event {
                require(frame.data.count == frame.bytes && frame.bytes <= frameLimit, "a frame of \(frame.bytes) "
                    + "bytes came out with \(frame.data.count)")
            }
        }
        if let progress = reader.frameProgress {
            require(progress.read < progress.of && progress.of <= frameLimit, "a frame in progress: \(progress)")
        }
        offset = end
    }
    do {
        try reader.finish()
    } catch {
        _ = error.code
    }
}

/// Decoding never crashes; whatever decodes re-encodes to a line that decodes to the same bytes again.
private func checkLine(_ line: [UInt8]) {
    _ = WireCodec.bestEffortID(line)
    if let header = try? JSONDecoder().decode(MessageHeader.self, from: Data(line)) {
        _ = header.type.utf8.count
    }
    if let request = try? WireCodec.decodeRequest(line) {
        let encoded = WireCodec.encode(request)
        guard let again = try? WireCodec.decodeRequest(encoded) else {
            fatalError("a decoded request does not decode after encoding: \(String(decoding: encoded, as: UTF8.self))")
        }
        require(WireCodec.encode(again) == encoded, "request encoding is not stable")
    }
    if let event = try? WireCodec.decodeEvent(line) {
        let encoded = WireCodec.encode(event)
        guard let again = try? WireCodec.decodeEvent(encoded) else {
            fatalError("a decoded event does not decode after encoding: \(String(decoding: encoded, as: UTF8.self))")
        }
        require(WireCodec.encode(again) == encoded, "event encoding is not stable")
    }
}

private func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
