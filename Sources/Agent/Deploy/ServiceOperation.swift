import Platform
import Shared

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
        var record: Shared.Outcome
        var failure: WireError?
    }

    func run() -> Outcome {
        emit(.phase(.init(name: .preflight, state: .started)))
        if action != .start, let refusal = RestartGate.ask(app, ignore: ignoreGate, phase: .preflight, emit: emit) {
            emit(.phase(.init(name: .preflight, state: .failed, detail: refusal)))
            return Outcome(record: .refused, failure: WireError(code: .gateBusy, message: refusal))
        }
        emit(.phase(.init(name: .preflight, state: .completed)))
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
        let phase = DeployPhase(rawValue: action.rawValue)
        emit(.phase(.init(name: phase, state: .started)))
        for service in services {
            let failure: String?
            switch action {
            case .restart: failure = runner.restart(service)
            case .stop: failure = runner.stop(service)
            case .start: failure = runner.start(service)
            }
            if let failure {
                emit(.phase(.init(name: phase, state: .failed, detail: failure)))
                return Outcome(record: .failed, failure: WireError(code: .serviceActionFailed(phase), message: "\(failure); the "
                    + "service may be down: see `shipkeep logs --service \(service.name)` and `shipkeep status`"))
            }
        }
        emit(.phase(.init(name: phase, state: .completed,
                          detail: services.map(\.name).joined(separator: ", "))))
        guard action != .stop else { return Outcome(record: .succeeded) }
        emit(.phase(.init(name: .health, state: .started)))
        var checker = HealthChecker(app: scoped, services: runner)
        if let verifier { checker.dataGuard = { GuardBaseline.damage(verifier, $0) } }
        let unhealthy = checker.wait()
        runner.streamJournals()
        if let unhealthy {
            emit(.phase(.init(name: .health, state: .failed, detail: unhealthy)))
            let done = action == .restart ? "restarted" : "started"
            return Outcome(record: .unhealthy, failure: WireError(code: .unhealthy, message: "\(done), but not "
                + "healthy: \(unhealthy) (nothing is rolled back after a \(action.rawValue): deploy a fixed commit, or "
                + "`shipkeep rollback`)"))
        }
        emit(.phase(.init(name: .health, state: .completed)))
        return Outcome(record: .succeeded)
    }
}
