import Platform
import Shared

/// The agent's side of the protocol, independent of where the bytes come from: `serve` feeds it stdin, the
/// tests feed it lines in memory.
///
/// The first request must be `hello`. Any protocol violation (garbage, an oversized line, an unknown type or
/// version) is answered with a failed `result` and ends the session with ``exitProtocolError``; a request
/// that is valid but cannot be done (an unknown app) fails alone and the session goes on.
final class AgentServer {
    /// Exit status after a protocol violation.
    static let exitProtocolError: Int32 = 2

    /// What to do after a line.
    enum Next: Equatable {
        case serve
        case exit(Int32)
    }

    let config: AgentConfig
    private let send: (EventMessage) -> Void
    private var greeted = false
    /// Who the controller said it is in `hello`, for the history of requests that carry no identity.
    private(set) var controller: String?
    /// The bundle a `deploy --ship` is sending, while its `ship_chunk` requests arrive.
    var shipUpload: ShipUpload?
    /// The descriptor requests come in on (stdin under `serve`): a followed `logs` ends when it is readable or
    /// closed. Nil (in-memory tests) sends the last lines without following.
    var input: Int32?

    /// The config file, absolute, for the workers this agent starts.
    var configFile: String {
        config.file.hasPrefix("/") ? config.file : FileSystem.currentDirectory() + "/" + config.file
    }

    /// The request types this agent serves, announced in `hello`, and the download formats and framings that need
    /// saying.
    static let capabilities = Command.allTypes + ArchiveFormat.allCases.compactMap(\.capability)
        + DownloadFraming.allCases.compactMap(\.capability)

    /// Creates a server answering from `config`, writing each event with `send`.
    init(config: AgentConfig, send: @escaping (EventMessage) -> Void) {
        self.config = config
        self.send = send
    }

    /// Handles one line from the controller.
    func handle(line: [UInt8]) -> Next {
        let request: Request
        do {
            request = try WireCodec.decodeRequest(line)
        } catch {
            return reject(id: WireCodec.bestEffortID(line), error)
        }
        var reply = Reply(id: request.id, send: send)
        guard greeted || request.command.type == "hello" else {
            return reject(id: request.id, ProtocolError(.unexpected, "the first request must be \"hello\""))
        }
        if let upload = shipUpload { return receiveShip(request, upload: upload) }
        switch request.command {
        case .hello(let hello):
            guard hello.protocols.contains(WireProtocol.version) else {
                return reject(id: request.id, ProtocolError(
                    .unsupportedVersion,
                    "the controller speaks protocol \(hello.protocols), this agent speaks \(WireProtocol.version); "
                        + "install matching versions of shipkeep and shipkeep-agent"))
            }
            greeted = true
            controller = hello.controller
            reply.emit(.hello(Event.HelloReply(protocol: WireProtocol.version, agentVersion: WireProtocol.toolVersion,
                                               capabilities: Self.capabilities, apps: config.apps.map(\.name))))
            reply.emit(.result(.success))
        case .status(let name):
            let apps: [AppConfig]
            if let name {
                guard let app = config.app(name) else {
                    reply.emit(.result(unknownApp(name)))
                    return .serve
                }
                apps = [app]
            } else {
                apps = config.apps
            }
            let collector = StatusCollector()
            let report = StatusReport(host: HostName.current, agentVersion: WireProtocol.toolVersion,
                                      time: Timestamp.now(), apps: apps.map(collector.collect))
            reply.emit(.status(report))
            reply.emit(.result(.success))
        case .deploy(let deploy):
            guard let app = knownApp(deploy.app, reply: &reply) else { return .serve }
            if deploy.ship != nil {
                shipUpload = beginShip(deploy, app: app, reply: &reply)
            } else {
                startDeploy(deploy, app: app, reply: &reply)
            }
        case .rollback(let name):
            guard let app = knownApp(name, reply: &reply) else { return .serve }
            rollback(app: app, reply: &reply)
        case .attach(let attach):
            guard let app = knownApp(attach.app, reply: &reply) else { return .serve }
            self.attach(attach, app: app, reply: &reply)
        case .snapshots(let name):
            guard let app = knownApp(name, reply: &reply) else { return .serve }
            listSnapshots(app: app, reply: &reply)
        case .snapshot(let name):
            guard let app = knownApp(name, reply: &reply) else { return .serve }
            startDeploy(Command.Deploy(app: app.name, controller: controller ?? "snapshot"), app: app,
                        action: .snapshot, reply: &reply)
        case .restore(let restore):
            guard let app = knownApp(restore.app, reply: &reply) else { return .serve }
            self.restore(restore, app: app, reply: &reply)
        case .unlock(let name, let deploy):
            guard let app = knownApp(name, reply: &reply) else { return .serve }
            unlock(app: app, deploy: deploy, reply: &reply)
        case .download(let download):
            guard let app = knownApp(download.app, reply: &reply) else { return .serve }
            self.download(download, app: app, reply: &reply)
        case .env(let env):
            guard let app = knownApp(env.app, reply: &reply) else { return .serve }
            self.env(env, app: app, reply: &reply)
        case .history(let history):
            guard let app = knownApp(history.app, reply: &reply) else { return .serve }
            self.history(history, app: app, reply: &reply)
        case .shipTips(let name):
            guard let app = knownApp(name, reply: &reply) else { return .serve }
            shipTips(app: app, reply: &reply)
        case .shipChunk:
            return reject(id: request.id, ProtocolError(.unexpected, "a \"ship_chunk\" request came with no deploy "
                + "whose bundle it could carry (send a deploy with \"ship\" first)"))
        case .logs(let logs):
            guard let app = knownApp(logs.app, reply: &reply) else { return .serve }
            self.logs(logs, app: app, reply: &reply)
        case .service(let control):
            guard let app = knownApp(control.app, reply: &reply) else { return .serve }
            controlServices(control, app: app, reply: &reply)
        case .backups(let name):
            guard let app = knownApp(name, reply: &reply) else { return .serve }
            listBackups(app: app, reply: &reply)
        }
        return .serve
    }

    /// Handles the end of input; `pending` is an unterminated last line, if any.
    func finish(pending: [UInt8]?) -> Next {
        defer { shipUpload?.discard() }
        guard let pending, !pending.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) else { return .exit(0) }
        if case .exit(let code) = handle(line: pending) { return .exit(code) }
        return .exit(0)
    }

    /// Answers a protocol violation and ends the session.
    func reject(id: String?, _ error: ProtocolError) -> Next {
        if let upload = shipUpload { return abortShip(upload, error) }
        var reply = Reply(id: id, send: send)
        reply.emit(.result(.failure(error.code.wire, error.message)))
        return .exit(Self.exitProtocolError)
    }

    private func knownApp(_ name: String, reply: inout Reply) -> AppConfig? {
        guard let app = config.app(name) else {
            reply.emit(.result(unknownApp(name)))
            return nil
        }
        return app
    }

    private func unknownApp(_ name: String) -> Event.Result {
        let known = config.apps.map(\.name).joined(separator: ", ")
        return .failure(.unknownApp, "no app named \"\(name)\" in \(config.file) (configured: \(known))")
    }
}

/// The events of one request, numbered from 1.
struct Reply {
    let id: String?
    let send: (EventMessage) -> Void
    private(set) var seq = 0

    init(id: String?, send: @escaping (EventMessage) -> Void) {
        self.id = id
        self.send = send
    }

    /// Sends an event of this agent's own, numbered after the last one sent (or as `seq`, when given and later).
    mutating func emit(_ event: Event, seq number: Int? = nil) {
        seq = max(seq + 1, number ?? 0)
        send(EventMessage(id: id, seq: seq, event: event))
    }

    /// Relays a journaled event as it is, under this request's id: the journal's `seq` is the one numbering of
    /// a deploy's events (see ``Journal``), so a live deploy and `attach --from-seq` number them alike.
    mutating func forward(_ message: EventMessage) {
        seq = message.seq
        send(EventMessage(id: id, seq: message.seq, event: message.event))
    }
}
