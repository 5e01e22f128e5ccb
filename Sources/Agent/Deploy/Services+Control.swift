import Platform
import Shared

extension Services {
    /// Stops one service: a command service's `stop:` (the caller has checked it has one), or `systemctl stop`.
    ///
    /// - Returns: nil on success, else a one-line reason.
    func stop(_ service: ServiceConfig) -> String? {
        switch service {
        case .command(let name, _, _, let timeout):
            guard let stop = app.stopCommand(of: name) else { return "\(name) has no stop: command in agent.yml" }
            return run(stop, name: name, timeout: Double(timeout), what: "stop", capture: true)
        case .systemd(let unit, let scope, let timeout):
            let systemd = Systemctl(unit: unit, scope: scope)
            let failure = run(systemd.argv("stop"), name: unit, timeout: Double(timeout), what: "stop",
                              environment: systemd.environment)
            return failure.map { systemd.explain($0, timeout: Double(timeout)) }
        }
    }

    /// Starts one service: a command service's `start:` (else its `restart:`), or `systemctl start`, whose
    /// journal since then is streamed as a restart's is.
    ///
    /// - Returns: nil on success, else a one-line reason.
    func start(_ service: ServiceConfig) -> String? {
        switch service {
        case .command(let name, let restart, _, let timeout):
            return run(app.startCommand(of: name) ?? restart, name: name, timeout: Double(timeout), what: "start",
                       capture: true)
        case .systemd(let unit, let scope, let timeout):
            let systemd = Systemctl(unit: unit, scope: scope)
            let started = Timestamp.now()
            let failure = run(systemd.argv("start"), name: unit, timeout: Double(timeout), what: "start",
                              environment: systemd.environment)
            journals.since[unit] = started
            streamJournals()
            return failure.map { systemd.explain($0, timeout: Double(timeout), restarted: started) }
        }
    }
}
