import Foundation
import Shared

extension DeployCommand {
    /// Whether the deploy to `target` ships its commit: `--ship`, or `ship: true` for it in shipkeep.yml.
    func ships(_ target: ResolvedTarget) -> Bool {
        ship || target.ship
    }

    /// The exchange of `deploy` with the agent: a plain request, or with `--ship` three steps — ask what the VM
    /// has (`ship_tips`), bundle the commit minus that, and send the deploy with the bundle. A refusal at any
    /// step (agent.yml does not allow shipping, the bundle is too big) comes before anything changes.
    ///
    /// - Throws: ``ControllerError`` when the connection fails or the bundle cannot be built.
    func shipExchange(_ connection: AgentConnection, _ command: Command,
                      _ onEvent: (EventMessage) throws(ControllerError) -> Void) throws(ControllerError)
        -> Event.Result {
        let session = connection.session
        guard ships(connection.target), case .deploy(var request) = command else {
            return try session.request(command, onEvent: onEvent)
        }
        let target = connection.target
        guard session.agent?.capabilities.contains(Command.shipTips(app: "").type) == true else {
            return .failure(.unsupported, "the agent on \(target.display) is too old to take shipped code: "
                + "`shipkeep install \(target.name)` updates it; or deploy without --ship")
        }
        var tips: Event.ShipTips?
        let answer = try session.request(.shipTips(app: request.app)) { message throws(ControllerError) in
            if case .shipTips(let reply) = message.event { tips = reply }
        }
        guard answer.ok else { return answer }
        guard let tips else {
            throw ControllerError(.protocolError, "the agent answered ship_tips without saying what the VM has")
        }
        let note: (String) -> Void = { line in if !self.target.quiet { Terminal.error("shipkeep: " + line) } }
        let bundle = try ShipBundle.build(request.commit ?? "HEAD", for: (tips.head.map { [$0] } ?? []) + tips.tips,
                                          say: note)
        defer { bundle.remove() }
        let size = ByteCount.format(bundle.bytes)
        guard bundle.bytes <= tips.maxBytes else {
            return .failure(.shipTooLarge, "the bundle of \(bundle.commit.prefix(12)) is \(size), more than the "
                + "\(ByteCount.format(tips.maxBytes)) app \(request.app) takes (ship_max_bytes in the VM's agent.yml); "
                + "nothing was sent or changed. Raise ship_max_bytes, or deploy without --ship")
        }
        let base = bundle.prerequisites == 0
            ? "with its whole history (the VM has none of its commits that this clone knows)"
            : "on top of \(bundle.prerequisites) commit(s) the VM has"
        note("shipping \(bundle.commit.prefix(12)) to \(target.display): \(size) \(base)")
        request.commit = bundle.commit
        request.ref = nil
        request.ship = bundle.bytes
        // The agent's progress events queue behind the upload, so a long one is reported from here.
        var reported = Date()
        return try session.request(.deploy(request), onReady: { id throws(ControllerError) in
            try session.sendBundle(bundle.path, id: id) { sent in
                guard Date().timeIntervalSince(reported) >= 5 else { return }
                reported = Date()
                note("sent \(ByteCount.format(sent)) of \(size)")
            }
        }, onEvent: onEvent)
    }
}
