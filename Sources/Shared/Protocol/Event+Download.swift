extension Event {
    /// The snapshot a `download` streams. Then come `manifest` events until `entries` entries have been sent,
    /// then `chunk` (or `frame`) events with the archive's bytes, then the `result`.
    public struct Archive: Codable, Equatable, Sendable {
        /// The app.
        public var app: String
        /// The snapshot id.
        public var snapshot: String
        /// When the snapshot was taken.
        public var createdAt: Timestamp
        /// The commit that was live when it was taken.
        public var commit: String?
        /// Regular files in it.
        public var files: Int
        /// Bytes of those files (uncompressed).
        public var bytes: Int64
        /// Manifest entries (files, directories and symbolic links) the `manifest` events will carry.
        public var entries: Int
        /// The archive format; `tar+gzip` (a POSIX pax tar in one gzip stream).
        public var format: String
        /// How the archive's bytes come: `frames` (``Frame`` events) when the request asked for them and this
        /// agent sends them; nil means `chunk` events.
        public var framing: String?
        /// Creates the event.
        public init(app: String, snapshot: String, createdAt: Timestamp, commit: String?, files: Int, bytes: Int64,
                    entries: Int, format: String = "tar+gzip", framing: String? = nil) {
            self.app = app
            self.snapshot = snapshot
            self.createdAt = createdAt
            self.commit = commit
            self.files = files
            self.bytes = bytes
            self.entries = entries
            self.format = format
            self.framing = framing
        }
    }

    /// Some entries of a downloaded snapshot's manifest; a big manifest spans several events so that no line
    /// nears the line limit.
    public struct ManifestPart: Codable, Equatable, Sendable {
        /// The entries, in archive order.
        public var entries: [ArchiveEntry]
        /// Creates the event.
        public init(entries: [ArchiveEntry]) {
            self.entries = entries
        }
    }

    /// Bytes of a download's archive; base64 on the wire, at most ``maxBytes`` of them per event.
    public struct Chunk: Equatable, Sendable {
        /// The most raw bytes one chunk carries (far below the line limit once in base64).
        public static let maxBytes = 256 * 1024
        /// The bytes.
        public var data: [UInt8]
        /// Creates the event.
        public init(data: [UInt8]) {
            self.data = data
        }
    }
}

extension Event.Chunk: Codable {
    private enum CodingKeys: String, CodingKey {
        case data
    }

    /// Decodes the base64 `data` field.
    ///
    /// - Throws: `DecodingError` when `data` is missing or not base64.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .data)
        guard let bytes = Base64.decode(text) else {
            throw DecodingError.dataCorruptedError(forKey: .data, in: container, debugDescription: "not base64")
        }
        self.init(data: bytes)
    }

    /// Encodes `data` as base64.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Base64.encode(data), forKey: .data)
    }
}
