/// Reads the agent's output into events: JSON Lines, where a `frame` event's line is followed by exactly the
/// number of raw bytes it announces (``Event/Frame``), after which the next line begins.
///
/// Bytes arrive in arbitrary chunks; a line or a frame may span many of them and one chunk may hold many. Memory
/// is bounded whatever the peer sends: a line by ``WireProtocol/maxLineBytes`` (``LineFramer``), a frame's bytes
/// by ``Event/Frame/maxBytes``, checked on the announced length before any of the frame is read. A peer that lies
/// about a length is caught by what follows: announcing more than it sends swallows the next lines as frame bytes
/// and the stream ends inside the frame (``finish()``) or the archive's own check fails on them; announcing less
/// leaves raw bytes where the next line should begin, which are not an event.
public struct EventReader: Sendable {
    private var framer: LineFramer
    private let frameLimit: Int
    /// The frame being read: its decoded line, the bytes read so far, and how many it announced.
    private var frameHeader: EventMessage?
    private var frameData: [UInt8] = []
    private var frameBytes = 0

    /// Creates a reader that accepts lines of at most `lineLimit` bytes and frames of at most `frameLimit`.
    public init(lineLimit: Int = WireProtocol.maxLineBytes, frameLimit: Int = Event.Frame.maxBytes) {
        framer = LineFramer(limit: lineLimit)
        self.frameLimit = frameLimit
    }

    /// While a frame is being read: how many of its bytes have come, and how many it announced.
    public var frameProgress: (read: Int, of: Int)? {
        frameHeader == nil ? nil : (frameData.count, frameBytes)
    }

    /// Adds `bytes` and returns every event they complete, in order; a `frame` event comes with all its bytes in
    /// its ``Event/Frame/data``. Empty lines are skipped.
    ///
    /// - Throws: ``ProtocolError``: `.lineTooLong` for a line over the limit, `.invalidMessage` for a frame
    ///   announcing more than the limit (or a negative length), and ``WireCodec/decodeEvent(_:)``'s errors for a
    ///   line that is not an event (garbage where a line should begin).
    public mutating func append(_ bytes: [UInt8]) throws(ProtocolError) -> [EventMessage] {
        var messages: [EventMessage] = []
        var start = bytes.startIndex
        while start < bytes.endIndex {
            if let header = frameHeader {
                let take = min(frameBytes - frameData.count, bytes.endIndex - start)
                frameData.append(contentsOf: bytes[start..<(start + take)])
                start += take
                if frameData.count == frameBytes {
                    messages.append(EventMessage(id: header.id, seq: header.seq, event: .frame(.init(data: frameData))))
                    frameHeader = nil
                    frameData = []
                }
                continue
            }
            // One line at a time: what follows a frame's line is raw bytes, not more lines.
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n"))
            let end = newline.map { $0 + 1 } ?? bytes.endIndex
            let lines = try framer.append(Array(bytes[start..<end]))
            start = end
            for line in lines where !line.isEmpty {
                let message = try WireCodec.decodeEvent(line)
                guard case .frame(let frame) = message.event else {
                    messages.append(message)
                    continue
                }
                guard frame.bytes >= 0, frame.bytes <= frameLimit else {
                    throw ProtocolError(.invalidMessage, "a frame announces \(frame.bytes) bytes; a frame holds "
                        + "0 to \(frameLimit)")
                }
                if frame.bytes == 0 {
                    messages.append(message)
                } else {
                    frameHeader = message
                    frameBytes = frame.bytes
                    frameData.reserveCapacity(frame.bytes)
                }
            }
        }
        return messages
    }

    /// Checks the end of input: a stream may not end inside a frame. An unterminated last line is dropped (the
    /// peer did not finish writing it).
    ///
    /// - Throws: ``ProtocolError`` `.malformed` when the input ended before a frame's announced bytes.
    public mutating func finish() throws(ProtocolError) {
        _ = framer.finish()
        guard let progress = frameProgress else { return }
        frameHeader = nil
        frameData = []
        throw ProtocolError(.malformed, "the output ended \(progress.read) bytes into a frame of \(progress.of) "
            + "bytes")
    }
}
