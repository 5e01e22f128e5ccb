import Foundation
import Shared
#if canImport(Glibc)
import Glibc
#endif

extension AgentServer {
    /// `service`: restarts, stops or starts the app's services (or one), under the app's lock, in this process
    /// (it is short: no snapshot, no code change). Before a restart or stop, agent.yml's `gate:` must say go;
    /// after a restart or start, the health phase runs as a deploy's does — the services' checks, the health
    /// command, freshness and the data guard (against the data as it was just before) — but nothing can be
    /// rolled back, so unhealthy means "needs attention". Each action that took the lock is recorded in
    /// `<state>/history.jsonl`.
    func controlServices(_ request: Command.ServiceControl, app: AppConfig, reply: inout Reply) {
        let started = Date()
        let action = request.action
        let selected: [ServiceConfig]
        if let name = request.service {
            guard let service = app.services.first(where: { $0.name == name }) else {
                let known = app.services.map(\.name).joined(separator: ", ")
                reply.emit(.result(.failure("unknown_service", "app \(app.name) has no service \"\(name)\" "
                    + "(configured: \(known.isEmpty ? "none" : known))")))
                return
            }
            selected = [service]
        } else {
            selected = app.services
        }
        guard !selected.isEmpty else {
            reply.emit(.result(.failure("no_services", "app \(app.name) has no services in \(config.file)")))
            return
        }
        if action == .stop {
            for case .command(let name, _, _, _) in selected where app.stopCommand(of: name) == nil {
                reply.emit(.result(.failure("no_stop_command", "\(name) has no stop: command in \(config.file): "
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
            reply.emit(.result(.failure("locked", "app \(app.name) is locked by \(busy.holder.deploy)"
                + "\(busy.holder.controller.map { " (\($0))" } ?? ""); \(action.rawValue) once it has finished")))
            return
        } catch {
            reply.emit(.result(.failure("state", "cannot take the lock: \(error)")))
            return
        }
        defer { lock.release() }
        let box = ReplyBox(reply)
        defer { reply = box.reply }
        let outcome = ServiceOperation(app: app, action: action, services: selected, ignoreGate: request.ignoreGate == true,
                                    emit: { box.reply.emit($0) }).run()
        try? state.appendHistory(ActionRecord(time: Date(), action: action.rawValue, who: request.controller,
                                              service: request.service, outcome: outcome.record,
                                              duration: Date().timeIntervalSince(started)))
        box.reply.emit(.result(outcome.failure.map { .failure($0.code, $0.message) } ?? .success))
    }
}

/// A ``Reply`` that closures the services run with can emit through.
final class ReplyBox {
    var reply: Reply
    init(_ reply: Reply) { self.reply = reply }
}

/// One `restart`, `stop` or `start`, phase by phase: `preflight` (the gate), the action, and `health` after a
/// restart or start. The caller holds the lock.
struct ServiceOperation {
    let app: AppConfig
    let action: ServiceAction
    let services: [ServiceConfig]
    let ignoreGate: Bool
    let emit: (Event) -> Void

    struct Outcome {
        /// `succeeded`, `refused`, `failed` or `unhealthy`, for the history.
        var record: String
        var failure: WireError?
    }

    func run() -> Outcome {
        emit(.phase(.init(name: "preflight", state: "started")))
        if action != .start, let refusal = askGate() {
            emit(.phase(.init(name: "preflight", state: "failed", detail: refusal)))
            return Outcome(record: "refused", failure: WireError(code: "gate_busy", message: refusal))
        }
        emit(.phase(.init(name: "preflight", state: "completed")))
        var scoped = app
        scoped.services = services
        let runner = Services(app: scoped) { source, stream, line in
            emit(.log(.init(stream: stream, line: LogLine.cut(line), source: source)))
        }
        // The data as it is before the services restart: what the guard then holds the new process to.
        var verifier: DataVerifier?
        if action != .stop {
            do {
                let baseline = try GuardBaseline.take(app)
                verifier = DataVerifier(root: app.path, store: SnapshotStore(dir: app.snapshots.dir), manifest: baseline,
                                        deploy: "\(action.rawValue)")
            } catch {
                emit(.warning(.init(code: "guard", message: "the data guard cannot see the data dirs (\(error)); "
                    + "only the service checks judge the \(action.rawValue)")))
            }
        }
        let phase = action.rawValue
        emit(.phase(.init(name: phase, state: "started")))
        for service in services {
            let failure: String?
            switch action {
            case .restart: failure = runner.restart(service)
            case .stop: failure = runner.stop(service)
            case .start: failure = runner.start(service)
            }
            if let failure {
                emit(.phase(.init(name: phase, state: "failed", detail: failure)))
                return Outcome(record: "failed", failure: WireError(code: "\(phase)_failed", message: "\(failure); the "
                    + "service may be down: see `shipkeep logs --service \(service.name)` and `shipkeep status`"))
            }
        }
        emit(.phase(.init(name: phase, state: "completed",
                          detail: services.map(\.name).joined(separator: ", "))))
        guard action != .stop else { return Outcome(record: "succeeded") }
        emit(.phase(.init(name: "health", state: "started")))
        var checker = HealthChecker(app: scoped, services: runner)
        if let verifier { checker.dataGuard = { GuardBaseline.damage(verifier, $0) } }
        let unhealthy = checker.wait(since: Date())
        runner.streamJournals()
        if let unhealthy {
            emit(.phase(.init(name: "health", state: "failed", detail: unhealthy)))
            let done = action == .restart ? "restarted" : "started"
            return Outcome(record: "unhealthy", failure: WireError(code: "unhealthy", message: "\(done), but not "
                + "healthy: \(unhealthy) (nothing is rolled back after a \(action.rawValue): deploy a fixed commit, or "
                + "`shipkeep rollback`)"))
        }
        emit(.phase(.init(name: "health", state: "completed")))
        return Outcome(record: "succeeded")
    }

    /// The gate, unless ignored: nil for go, else the refusal.
    private func askGate() -> String? {
        guard let gate = app.gate else { return nil }
        if ignoreGate {
            emit(.warning(.init(code: "gate_ignored", message: "--ignore-gate: the gate "
                + "(\(gate.command.joined(separator: " "))) was not asked")))
            return nil
        }
        return RestartGate(app: app, gate: gate).wait { waited, said in
            emit(.log(.init(stream: "stdout", line: "busy after \(waited) s of \(gate.timeout) s: \(said)", source: "gate")))
            emit(.progress(.init(phase: "preflight", done: Int64(waited), total: Int64(gate.timeout), unit: "seconds")))
        }
    }
}
