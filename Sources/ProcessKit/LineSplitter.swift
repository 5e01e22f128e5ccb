/// Splits a child's output into lines as bytes arrive, holding at most `maxLineBytes` of an unfinished line.
///
/// The one line splitter for output of another program (hooks, git, the agent's stderr as the controller
/// reads it, the sandbox's commands). A line longer than the cap is not kept whole: it comes out in pieces of at
/// most `maxLineBytes` bytes (cut before a UTF-8 sequence, never inside one), so nothing is lost and a program
/// that never writes a newline cannot make the reader allocate without bound. The newline is not part of a line;
/// a `\r` before it is kept, as the program wrote it.
public struct LineSplitter: Sendable {
    /// The longest line, in bytes, kept whole.
    public let maxLineBytes: Int
    private var pending: [UInt8] = []

    /// Creates a splitter whose lines (and pieces of longer lines) are at most `maxLineBytes` bytes.
    public init(maxLineBytes: Int = 64 * 1024) {
        precondition(maxLineBytes >= 4, "a line must hold at least one UTF-8 character")
        self.maxLineBytes = maxLineBytes
    }

    /// The bytes of the unfinished last line.
    public var pendingByteCount: Int { pending.count }

    /// Adds `bytes` and returns the lines (and pieces of overlong lines) they complete, decoded as UTF-8.
    public mutating func append(_ bytes: some Collection<UInt8>) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
                continue
            }
            pending.append(byte)
            if pending.count > maxLineBytes { lines.append(cutPiece()) }
        }
        return lines
    }

    /// The unfinished last line at the end of the output, if any bytes are pending.
    public mutating func finish() -> String? {
        guard !pending.isEmpty else { return nil }
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Removes and returns the first at most `maxLineBytes` bytes of `pending`, ending before a UTF-8 sequence.
    private mutating func cutPiece() -> String {
        var end = maxLineBytes
        // Back up over continuation bytes (10xxxxxx) to the start of the sequence that would be split.
        while end > maxLineBytes - 3, pending[end] & 0xC0 == 0x80 { end -= 1 }
        let piece = String(decoding: pending[..<end], as: UTF8.self)
        pending.removeSubrange(..<end)
        return piece
    }
}
