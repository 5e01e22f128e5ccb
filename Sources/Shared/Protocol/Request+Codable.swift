extension Request: Codable {
    /// Decodes a request line. The version and type are checked first.
    ///
    /// - Throws: ``ProtocolError`` for a wrong version, an unknown type or a missing id; `DecodingError` for
    ///   a malformed payload (``WireCodec`` turns that into ``ProtocolError/Code/invalidMessage``).
    public init(from decoder: any Decoder) throws {
        let header = try MessageHeader(from: decoder)
        guard header.version == WireProtocol.version else {
            throw ProtocolError(.unsupportedVersion,
                                "protocol version \(header.version) is not supported (this side speaks v\(WireProtocol.version))")
        }
        guard let id = header.id, !id.isEmpty else {
            throw ProtocolError(.invalidMessage, "a \"\(header.type)\" request needs a non-empty string \"id\"")
        }
        let fields = try decoder.container(keyedBy: CommandFieldKeys.self)
        let command: Command
        switch header.type {
        case "hello": command = .hello(try Command.Hello(from: decoder))
        case "status": command = .status(app: try fields.decodeIfPresent(String.self, forKey: .app))
        case "deploy": command = .deploy(try Command.Deploy(from: decoder))
        case "rollback": command = .rollback(app: try fields.decode(String.self, forKey: .app))
        case "snapshots": command = .snapshots(app: try fields.decode(String.self, forKey: .app))
        case "snapshot": command = .snapshot(app: try fields.decode(String.self, forKey: .app))
        case "backups": command = .backups(app: try fields.decode(String.self, forKey: .app))
        case "restore": command = .restore(try Command.Restore(from: decoder))
        case "attach": command = .attach(try Command.Attach(from: decoder))
        case "download": command = .download(try Command.Download(from: decoder))
        case "env": command = .env(try Command.Env(from: decoder))
        case "history": command = .history(try Command.History(from: decoder))
        case "ship_tips": command = .shipTips(app: try fields.decode(String.self, forKey: .app))
        case "ship_chunk": command = .shipChunk(try Event.Chunk(from: decoder))
        case "logs": command = .logs(try Command.Logs(from: decoder))
        case "service": command = .service(try Command.ServiceControl(from: decoder))
        case "unlock":
            command = .unlock(app: try fields.decode(String.self, forKey: .app),
                              deploy: try fields.decode(String.self, forKey: .deploy))
        default:
            throw ProtocolError(.unknownType, "unknown request type \"\(header.type)\"")
        }
        self.init(id: id, command: command)
    }

    /// Encodes the request as one wire object: envelope fields and payload fields side by side.
    public func encode(to encoder: any Encoder) throws {
        var envelope = encoder.container(keyedBy: EnvelopeKeys.self)
        try envelope.encode(WireProtocol.version, forKey: .version)
        try envelope.encode(command.type, forKey: .type)
        try envelope.encode(id, forKey: .id)
        var fields = encoder.container(keyedBy: CommandFieldKeys.self)
        switch command {
        case .hello(let hello): try hello.encode(to: encoder)
        case .status(let app): try fields.encodeIfPresent(app, forKey: .app)
        case .deploy(let deploy): try deploy.encode(to: encoder)
        case .rollback(let app), .snapshots(let app), .shipTips(let app), .snapshot(let app), .backups(let app):
            try fields.encode(app, forKey: .app)
        case .restore(let restore): try restore.encode(to: encoder)
        case .attach(let attach): try attach.encode(to: encoder)
        case .download(let download): try download.encode(to: encoder)
        case .env(let env): try env.encode(to: encoder)
        case .history(let history): try history.encode(to: encoder)
        case .shipChunk(let chunk): try chunk.encode(to: encoder)
        case .logs(let logs): try logs.encode(to: encoder)
        case .service(let control): try control.encode(to: encoder)
        case .unlock(let app, let deploy):
            try fields.encode(app, forKey: .app)
            try fields.encode(deploy, forKey: .deploy)
        }
    }
}
