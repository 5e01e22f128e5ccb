import Shared
import Platform

extension AgentServer {
    /// `service`: restarts, stops or starts the app's services (or one), under the app's lock, in this process
    /// (it is short: no snapshot, no code change). Before a restart or stop, agent.yml's `gate:` must say go;
    /// after a restart or start, the health phase runs as a deploy's does — the services' checks, the health
    /// command, freshness and the data guard (against the data as it was just before) — but nothing can be
    /// rolled back, so unhealthy means "needs attention". Each action that took the lock is recorded in
    /// `<state>/history.jsonl`.
    func controlServices(_ request: Command.ServiceControl, app: AppConfig, reply: inout Reply) {
        let started = Timestamp.now()
        let action = request.action
        let selected: [ServiceConfig]
        if let name = request.service {
            guard let service = app.services.first(where: { $0.name == name }) else {
                let known = app.services.map(\.name).joined(separator: ", ")
                reply.emit(.result(.failure(.unknownService, "app \(app.name) has no service \"\(name)\" "
                    + "(configured: \(known.isEmpty ? "none" : known))")))
                return
            }
            selected = [service]
        } else {
            selected = app.services
        }
        guard !selected.isEmpty else {
            reply.emit(.result(.failure(.noServices, "app \(app.name) has no services in \(config.file)")))
            return
        }
        if action == .stop {
            for case .command(let name, _, _, _) in selected where app.stopCommand(of: name) == nil {
                reply.emit(.result(.failure(.noStopCommand, "\(name) has no stop: command in \(config.file): "
                    + "add stop: [argv…] beside its restart: (e.g. [\"./stop.sh\"]); nothing was stopped")))
                return
            }
        }
        let state = StateDirectory(path: app.state)
        let lock: DeployLock.Held
        do {
            lock = try DeployLock.acquire(state, record: .init(deploy: "\(action.rawValue)-\(Timestamp.compact(started))",
                                                                controller: request.controller, commit: nil,
                                                                startedAt: started, pid: getpid()))
        } catch let busy as DeployLock.Busy {
            reply.emit(.result(.failure(.locked, "app \(app.name) is locked by \(busy.holder.deploy)"
                + "\(busy.holder.controller.map { " (\($0))" } ?? ""); \(action.rawValue) once it has finished")))
            return
        } catch {
            reply.emit(.result(.failure(.state, "cannot take the lock: \(error)")))
            return
        }
        defer { lock.release() }
        let box = ReplyBox(reply)
        defer { reply = box.reply }
        let outcome = ServiceOperation(app: app, action: action, services: selected, ignoreGate: request.ignoreGate == true,
                                    emit: { box.reply.emit($0) }).run()
        HistoryLog(state: state).append(HistoryRecord(
            time: started, action: HistoryAction(rawValue: action.rawValue), who: request.controller ?? controller,
            outcome: outcome.record, duration: Timestamp.now() - started, service: request.service))
        box.reply.emit(.result(outcome.failure.map { .failure($0.code, $0.message) } ?? .success))
    }
}

/// A ``Reply`` that closures the services run with can emit through.
final class ReplyBox {
    var reply: Reply
    init(_ reply: Reply) { self.reply = reply }
}
