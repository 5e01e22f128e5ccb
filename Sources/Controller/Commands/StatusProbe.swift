import Foundation
import Shared

/// One `status` probe of one target: the agent's report, or why the VM could not be asked.
struct StatusProbe {
    /// The target as shown (`user@host:port`, or a group member's name).
    var target: String
    /// The report, when the agent answered.
    var report: StatusReport?
    /// The status event as it came over the wire, for `--json`.
    var message: EventMessage?
    /// Why there is no report.
    var error: ControllerError?
    /// How long the probe took, connecting included.
    var seconds: Double = 0
    /// When it was taken.
    var time = Date()

    /// A probe that failed before or while asking.
    init(target: String, error: ControllerError, seconds: Double = 0) {
        self.target = target
        self.error = error
        self.seconds = seconds
    }

    /// A probe the agent answered.
    init(target: String, report: StatusReport, message: EventMessage?, seconds: Double = 0) {
        self.target = target
        self.report = report
        self.message = message
        self.seconds = seconds
    }

    /// The verdict: the report's, or UNKNOWN.
    var health: Health { report?.health ?? .unknown }

    /// The Nagios exit status; 64 instead of UNKNOWN (3) for a usage or configuration error (a bad flag or
    /// shipkeep.yml, an app the VM's agent.yml does not name): 3 means only that the VM could not be asked.
    var exitCode: Int32 { error?.isUsage == true ? DeployExit.usage : health.exitCode }

    /// The probe as the Prometheus renderer takes it.
    var metrics: Prometheus.Probe {
        Prometheus.Probe(target: target, report: report, reason: error?.wireCode.rawValue, time: time)
    }

    /// Asks for the status over an open connection.
    ///
    /// - Throws: ``ControllerError`` when the connection fails or the agent refuses.
    static func ask(_ connection: AgentConnection, target: String, app: String?) throws(ControllerError)
        -> StatusProbe {
        let started = Date()
        var report: StatusReport?
        var message: EventMessage?
        let result = try connection.session.request(.status(app: app)) { event in
            if case .status(let status) = event.event {
                report = status
                message = event
            }
        }
        guard result.ok, let report else {
            throw ControllerError(.agent, result.error?.message ?? "the agent sent no status", code: result.error?.code)
        }
        return StatusProbe(target: target, report: report, message: message,
                           seconds: Date().timeIntervalSince(started))
    }

    /// Connects, asks once and disconnects; a failure is an UNKNOWN probe.
    static func run(_ resolved: ResolvedTarget, shownAs name: String? = nil, verbose: Bool) -> StatusProbe {
        let started = Date()
        let shown = name ?? resolved.display
        do {
            let connection = try AgentConnection(resolved, verbose: verbose)
            defer { connection.close() }
            var probe = try ask(connection, target: shown, app: resolved.app)
            probe.seconds = Date().timeIntervalSince(started)
            return probe
        } catch {
            return StatusProbe(target: shown, error: error, seconds: Date().timeIntervalSince(started))
        }
    }
}
