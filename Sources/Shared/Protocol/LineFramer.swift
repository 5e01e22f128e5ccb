/// Splits a byte stream into JSON Lines, enforcing ``WireProtocol/maxLineBytes``.
///
/// Bytes arrive in arbitrary chunks (an SSH window, a pipe read); a line may span many chunks and one chunk
/// may hold many lines. A line longer than the limit is reported as soon as the limit is passed, without
/// buffering the rest of it, so a hostile peer cannot make this side allocate without bound.
public struct LineFramer: Sendable {
    private var buffer: [UInt8] = []
    private let limit: Int

    /// Creates a framer that accepts lines of at most `limit` bytes.
    public init(limit: Int = WireProtocol.maxLineBytes) {
        self.limit = limit
    }

    /// The bytes received after the last newline.
    public var pendingByteCount: Int { buffer.count }

    /// Adds `bytes` and returns every line they complete, without the trailing `\n` (and `\r`, if any).
    ///
    /// - Throws: ``ProtocolError`` with code `.lineTooLong` once the current line exceeds the limit.
    public mutating func append(_ bytes: [UInt8]) throws(ProtocolError) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n"))
            let part = bytes[start..<(newline ?? bytes.endIndex)]
            guard buffer.count + part.count <= limit else {
                buffer.removeAll()
                throw ProtocolError(.lineTooLong, "a line is longer than \(limit) bytes")
            }
            buffer.append(contentsOf: part)
            guard let newline else { break }
            if buffer.last == UInt8(ascii: "\r") { buffer.removeLast() }
            lines.append(buffer)
            buffer.removeAll(keepingCapacity: true)
            start = newline + 1
        }
        return lines
    }

    /// Returns the unterminated last line at end of input, if any bytes are pending.
    public mutating func finish() -> [UInt8]? {
        guard !buffer.isEmpty else { return nil }
        defer { buffer.removeAll() }
        return buffer
    }
}
