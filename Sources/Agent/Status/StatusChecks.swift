import Platform
import Shared

/// The checks of the deploy's health phase, run once for `status`: each service's check, the health command and
/// the freshness rule, through the same ``Services`` and ``HealthChecker`` code the deploy uses.
///
/// Bounded like the deploy's health phase: each check runs at most its service's timeout, and all of them
/// together at most `health.timeout` (never more than ``maxBudget``); a check past its time is killed (its whole
/// process group) and reported as timed out, so a hanging check cannot hang the probe.
struct StatusChecks {
    let app: AppConfig

    /// The most one app's checks may take in one probe: well inside the controller's default 60 s `--timeout`
    /// (status sends nothing while its checks run).
    static let maxBudget = 30.0

    /// Runs the checks, in order: services, the health command, freshness.
    func run() -> [CheckResult] {
        let services = Services(app: app, onLine: { _, _, _ in })
        let deadline = ContinuousClock.now + .seconds(min(Double(app.health.timeout), Self.maxBudget))
        var results: [CheckResult] = []

        func timed(_ kind: CheckKind, _ name: String, _ body: (Double) -> String?) {
            let remaining = deadline.secondsLeft
            guard remaining > 0 else {
                results.append(CheckResult(kind: kind, name: name, ok: false, seconds: 0,
                                           message: "\(name) check not run: the checks before it used up the "
                                               + "\(Int(min(Double(app.health.timeout), Self.maxBudget)))s budget"))
                return
            }
            let started = ContinuousClock.now
            let failure = body(remaining)
            results.append(CheckResult(kind: kind, name: name, ok: failure == nil,
                                       seconds: started.secondsElapsed, message: failure))
        }

        for service in app.services {
            guard service.hasCheck else { continue }
            timed(.service, service.name) { remaining in services.check(service, timeout: remaining) }
        }
        if let command = app.health.command {
            timed(.command, "health") { remaining in
                services.run(command, name: "health", timeout: remaining, what: "command", quiet: true)
            }
        }
        if let fresh = app.health.fresh {
            timed(.fresh, fresh.path) { _ in HealthChecker.freshness(fresh, app: app) }
        }
        return results
    }
}
