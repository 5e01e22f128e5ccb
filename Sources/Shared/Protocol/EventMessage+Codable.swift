extension EventMessage: Codable {
    /// Decodes an event line. The version and type are checked first.
    ///
    /// - Throws: ``ProtocolError`` for a wrong version or an unknown type; `DecodingError` for a malformed
    ///   payload.
    public init(from decoder: any Decoder) throws {
        let header = try MessageHeader(from: decoder)
        guard header.version == WireProtocol.version else {
            throw ProtocolError(.unsupportedVersion,
                                "protocol version \(header.version) is not supported (this side speaks v\(WireProtocol.version))")
        }
        let envelope = try decoder.container(keyedBy: EnvelopeKeys.self)
        let seq = try envelope.decode(Int.self, forKey: .seq)
        let event: Event
        switch header.type {
        case "hello": event = .hello(try Event.HelloReply(from: decoder))
        case "phase": event = .phase(try Event.Phase(from: decoder))
        case "progress": event = .progress(try Event.Progress(from: decoder))
        case "log": event = .log(try Event.Log(from: decoder))
        case "warning": event = .warning(try Event.Warning(from: decoder))
        case "status": event = .status(try StatusReport(from: decoder))
        case "started": event = .started(try Event.Started(from: decoder))
        case "snapshots": event = .snapshots(try Event.SnapshotList(from: decoder))
        case "archive": event = .archive(try Event.Archive(from: decoder))
        case "manifest": event = .manifest(try Event.ManifestPart(from: decoder))
        case "chunk": event = .chunk(try Event.Chunk(from: decoder))
        case "frame": event = .frame(try Event.Frame(from: decoder))
        case "env": event = .env(try Event.EnvKeys(from: decoder))
        case "history": event = .history(try HistoryRecord(from: decoder))
        case "ship_tips": event = .shipTips(try Event.ShipTips(from: decoder))
        case "ship_ready": event = .shipReady(try Event.ShipReady(from: decoder))
        case "backups": event = .backups(try Event.BackupList(from: decoder))
        case "result": event = .result(try Event.Result(from: decoder))
        default: throw ProtocolError(.unknownType, "unknown event type \"\(header.type)\"")
        }
        self.init(id: header.id, seq: seq, event: event)
    }

    /// Encodes the event as one wire object: envelope fields and payload fields side by side.
    public func encode(to encoder: any Encoder) throws {
        var envelope = encoder.container(keyedBy: EnvelopeKeys.self)
        try envelope.encode(WireProtocol.version, forKey: .version)
        try envelope.encode(event.type, forKey: .type)
        try envelope.encode(id, forKey: .id)
        try envelope.encode(seq, forKey: .seq)
        switch event {
        case .hello(let payload): try payload.encode(to: encoder)
        case .phase(let payload): try payload.encode(to: encoder)
        case .progress(let payload): try payload.encode(to: encoder)
        case .log(let payload): try payload.encode(to: encoder)
        case .warning(let payload): try payload.encode(to: encoder)
        case .status(let payload): try payload.encode(to: encoder)
        case .started(let payload): try payload.encode(to: encoder)
        case .snapshots(let payload): try payload.encode(to: encoder)
        case .archive(let payload): try payload.encode(to: encoder)
        case .manifest(let payload): try payload.encode(to: encoder)
        case .chunk(let payload): try payload.encode(to: encoder)
        case .frame(let payload): try payload.encode(to: encoder)
        case .env(let payload): try payload.encode(to: encoder)
        case .history(let payload): try payload.encode(to: encoder)
        case .shipTips(let payload): try payload.encode(to: encoder)
        case .shipReady(let payload): try payload.encode(to: encoder)
        case .backups(let payload): try payload.encode(to: encoder)
        case .result(let payload): try payload.encode(to: encoder)
        }
    }
}
