/// The fields every line carries, decoded before anything else so that an unknown version or type can be
/// answered with a typed error instead of a decoding failure deep inside a payload.
public struct MessageHeader: Decodable, Sendable {
    /// The protocol version (`"v"`).
    public var version: Int
    /// The message type discriminator.
    public var type: String
    /// The request id, when the message belongs to a request.
    public var id: String?

    enum CodingKeys: String, CodingKey {
        case version = "v"
        case type
        case id
    }

    /// Decodes the header of a message.
    ///
    /// - Throws: ``ProtocolError`` when `v` or `type` is missing or not of the right JSON type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let version = try? container.decode(Int.self, forKey: .version) else {
            throw ProtocolError(.unsupportedVersion, "the message has no integer \"v\" (protocol version) field")
        }
        guard let type = try? container.decode(String.self, forKey: .type) else {
            throw ProtocolError(.invalidMessage, "the message has no string \"type\" field")
        }
        self.version = version
        self.type = type
        self.id = try? container.decodeIfPresent(String.self, forKey: .id)
    }
}

/// Keys shared by every message envelope.
enum EnvelopeKeys: String, CodingKey {
    case version = "v"
    case type
    case id
    case seq
}

/// The keys of the small commands that carry one or two plain fields.
enum CommandFieldKeys: String, CodingKey {
    case app
    case deploy
}
