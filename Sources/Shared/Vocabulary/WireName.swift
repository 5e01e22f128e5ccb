/// A word that crosses a process boundary (agent → worker journal → controller) and that both ends match on: a
/// phase name, an outcome, an error code. Each is an enum whose `rawValue` is today's wire spelling, with an
/// `unknown(String)` case so that a word a newer agent sends (or an older journal holds) decodes, renders as it
/// was sent and re-encodes unchanged, instead of failing the whole line: the controller falls back to the
/// generic meaning (e.g. a failure it does not know exits 1) rather than crash or refuse the session.
public protocol WireName: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible
where RawValue == String {
    /// Every spelling this build knows, each once.
    static var known: [Self] { get }
    /// A spelling this build does not know, kept as it was sent.
    static func unknown(_ rawValue: String) -> Self
}

extension WireName {
    /// The known word spelled `rawValue`, else ``unknown(_:)`` holding it. Never fails.
    public init(rawValue: String) {
        self = Self.named(rawValue)
    }

    /// The known word spelled `rawValue`, else ``unknown(_:)`` holding it.
    public static func named(_ rawValue: String) -> Self {
        known.first { $0.rawValue == rawValue } ?? .unknown(rawValue)
    }

    /// Whether this build knows the word (false for ``unknown(_:)``).
    public var isKnown: Bool { Self.known.contains(self) }

    /// The wire spelling.
    public var description: String { rawValue }

    /// Decodes one JSON string; any string is accepted (see ``WireName``).
    ///
    /// - Throws: `DecodingError` when the value is not a string.
    public init(from decoder: any Decoder) throws {
        self = Self.named(try decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes the wire spelling as one JSON string.
    ///
    /// - Throws: `EncodingError` from the encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// Equal when spelled the same, so a hand-made `.unknown("locked")` equals `.locked`.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.rawValue == rhs.rawValue }

    /// Hashes the spelling (consistent with `==`).
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}
