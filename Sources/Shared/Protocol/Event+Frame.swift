extension Event {
    /// Bytes of a download's archive as a binary frame: on the wire, the event's JSON line
    /// (`{"bytes":N,"id":…,"seq":…,"type":"frame","v":1}` and its `\n`), then exactly `bytes` raw bytes, then
    /// the next event's line. Only sent to a controller that asked for ``DownloadFraming/frames``.
    ///
    /// The JSON coding carries only the length: ``WireCodec`` encodes and decodes the line, the agent writes
    /// ``data`` right after it, and ``EventReader`` reads the raw bytes into ``data``. An announced length over
    /// ``maxBytes`` is refused before any of it is read, so a lying peer cannot make the reader allocate more.
    public struct Frame: Equatable, Sendable {
        /// The most raw bytes one frame carries (1 MiB, as much as a line may hold).
        public static let maxBytes = 1 << 20
        /// The number of raw bytes that follow the line.
        public var bytes: Int
        /// The bytes: all `bytes` of them once sent or read in full; empty in a line decoded alone.
        public var data: [UInt8]

        /// Creates a frame carrying `data`.
        public init(data: [UInt8]) {
            self.bytes = data.count
            self.data = data
        }

        /// Creates a frame's header as a decoded line has it: `bytes` announced, none of them read yet.
        public init(announcing bytes: Int) {
            self.bytes = bytes
            self.data = []
        }
    }
}

extension Event.Frame: Codable {
    private enum CodingKeys: String, CodingKey {
        case bytes
    }

    /// Decodes the announced length; the bytes themselves follow the line.
    ///
    /// - Throws: `DecodingError` when `bytes` is missing or not an integer.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(announcing: try container.decode(Int.self, forKey: .bytes))
    }

    /// Encodes the length only (the caller writes ``data`` after the line).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(bytes, forKey: .bytes)
    }
}
