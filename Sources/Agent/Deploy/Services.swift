import Platform
import Shared

/// Restarts and checks an app's services, in configuration order, streaming their output.
struct Services {
    let app: AppConfig
    /// Receives each output line as (service, stream, line).
    let onLine: (String, String, String) -> Void
    /// Where each systemd unit's journal was last read up to, shared by copies: the restart streams the lines
    /// since it began, the health phase the lines after those.
    let journals = JournalCursors()

    init(app: AppConfig, onLine: @escaping (String, String, String) -> Void) {
        self.app = app
        self.onLine = onLine
    }

    /// Restarts every service in order; the first failure stops the sequence.
    ///
    /// - Parameter resettingStartLimit: Clear each systemd unit's failed state first (`systemctl reset-failed`):
    ///   for the restart of a rollback or a recovery, which brings back code that ran, after new code that may
    ///   have crashed the unit into systemd's start limit. A deploy's own restart keeps the limit: a unit that
    ///   hit it before the deploy is reported as such.
    /// - Returns: nil on success, else a one-line reason.
    func restartAll(resettingStartLimit: Bool = false) -> String? {
        for service in app.services {
            if let failure = restart(service, resettingStartLimit: resettingStartLimit) { return failure }
        }
        return nil
    }

    /// Restarts one service (see ``restartAll(resettingStartLimit:)``).
    func restart(_ service: ServiceConfig, resettingStartLimit: Bool = false) -> String? {
        switch service {
        case .command(let name, let restart, _, let timeout):
            return run(restart, name: name, timeout: Double(timeout), what: "restart", capture: true)
        case .systemd(let unit, let scope, let timeout):
            let systemd = Systemctl(unit: unit, scope: scope)
            let started = Timestamp.now()
            if resettingStartLimit {
                // A failure here (no such unit, no sudoers line for it) is said by the restart that follows.
                _ = run(systemd.resetFailed, name: unit, timeout: Double(timeout), what: "reset-failed", quiet: true,
                        environment: systemd.environment)
            }
            let failure = run(systemd.restart, name: unit, timeout: Double(timeout), what: "restart",
                              environment: systemd.environment, secrets: false)
            journals.since[unit] = started
            streamJournals()
            return failure.map { systemd.explain($0, timeout: Double(timeout), restarted: started) }
        }
    }

    /// Streams, as `journal` log lines, what each restarted systemd unit logged since the last call (since its
    /// restart began, the first time).
    func streamJournals() {
        for case .systemd(let unit, let scope, _) in app.services {
            guard let since = journals.since[unit] else { continue }
            let read = Systemctl(unit: unit, scope: scope).journal(after: journals.cursor[unit], since: since)
            journals.cursor[unit] = read.cursor
            // A unit in a crash loop logs a screenful a second: its last lines say why.
            let shown = read.lines.suffix(Self.journalLines)
            if read.lines.count > shown.count {
                onLine(unit, "journal", "(\(read.lines.count - shown.count) earlier journal lines not shown)")
            }
            for line in shown { onLine(unit, "journal", line) }
        }
    }

    /// The most journal lines of one unit streamed at a time.
    static let journalLines = 20

    /// Runs every service's check once; returns the failures.
    func checkAll(timeout: Double) -> [String] {
        app.services.filter(\.hasCheck).compactMap { check($0, timeout: timeout) }
    }

    /// Runs one service's check (its `check` argv, or `is-active` for a unit), for at most `timeout` seconds or
    /// the service's own timeout, whichever is shorter. A service without a check passes.
    ///
    /// - Returns: nil when it passed, else why not.
    func check(_ service: ServiceConfig, timeout: Double) -> String? {
        switch service {
        case .command(let name, _, let check?, let limit):
            return run(check, name: name, timeout: min(timeout, Double(limit)), what: "check", quiet: true)
        case .command:
            return nil
        case .systemd(let unit, let scope, let limit):
            let systemd = Systemctl(unit: unit, scope: scope)
            let failure = run(systemd.isActive, name: unit, timeout: min(timeout, Double(limit)), what: "check",
                              quiet: true, environment: systemd.environment, secrets: false)
            return failure.map {
                systemd.explain($0, timeout: min(timeout, Double(limit)), restarted: journals.since[unit])
            }
        }
    }

    /// Runs a hook or service command in the work tree, with the app's secrets unless `secrets` is false (the
    /// agent's own systemctl calls). Returns nil on success, else why not. With `capture`, its output is also
    /// kept in the service's ``ServiceOutput`` (for `shipkeep logs --service`), with the secrets masked.
    func run(_ argv: [String], name: String, timeout: Double, what: String, quiet: Bool = false,
             environment: [String: String] = [:], secrets: Bool = true, capture: Bool = false) -> String? {
        let output = capture ? ServiceOutput(state: StateDirectory(path: app.state), service: name) : nil
        do {
            // An unsafe or unreadable env file fails the command: a service must not start without its secrets.
            let values = secrets ? try EnvFile(app: app).environment() : [:]
            let base = secrets ? ChildEnvironment.service(app, secrets: values) : ChildEnvironment.app(app)
            // A script that echoes a secret (`set -x` does) must not put it into the deploy's output and journal.
            let redact = SecretRedactor(Array(values.values))
            let outcome = try ProcessRunner.run(argv, cwd: app.path, environment: base.merging(environment) { $1 },
                                                timeout: max(timeout, 0.1)) { stream, line in
                output?.append(stream: stream, line: redact(line))
                if !quiet { onLine(name, stream, redact(line)) }
            }
            guard outcome.succeeded else {
                let said = outcome.stderr.split(separator: "\n").last.map { ": \(redact(String($0)))" } ?? ""
                return "\(name) \(what) (\(argv.joined(separator: " "))) \(outcome.summary)\(said)"
            }
            return nil
        } catch {
            return "\(name) \(what): \(error)"
        }
    }
}

extension ServiceConfig {
    /// Whether the service has a check: a `check` argv, or a unit (`is-active`).
    var hasCheck: Bool {
        switch self {
        case .command(_, _, let check, _): check != nil
        case .systemd: true
        }
    }
}

/// Journal read positions per unit. A class so that copies of ``Services`` share them; used by one deploy worker
/// thread at a time.
final class JournalCursors {
    var since: [String: Timestamp] = [:]
    var cursor: [String: String] = [:]
}

/// Decides whether the app is healthy after a restart: every service check, the health command and the
/// freshness check must pass together, retried until the health timeout.
struct HealthChecker {
    let app: AppConfig
    let services: Services
    /// The data guard: what the new code damaged in the data dirs, one line each, inspected as deep as asked
    /// (cheap at every attempt, in full before the app is declared healthy). Damage never heals by itself, so
    /// any is final.
    var dataGuard: (DataVerifier.Depth) -> [String] = { _ in [] }
    /// The first retry comes this soon after a failed attempt (a bot usually writes again within
    /// milliseconds of its start); each later wait doubles, up to `maxRetryInterval`.
    static let firstRetryInterval = 0.02
    /// The longest wait between attempts: checks are commands, and a slow start must not run them hot.
    static let maxRetryInterval = 0.5

    /// Waits for health: every check passing together, and — with `health.settle` — still passing at every
    /// attempt for that many seconds after they first did (a bot that writes once and then crashes is not
    /// healthy).
    ///
    /// Call it as soon as the restart finished: a fresh write (`health.fresh`) is one made after the call began.
    ///
    /// - Returns: nil when healthy, else the failures of the last attempt.
    func wait() -> String? {
        var fresh = app.health.fresh.map { FreshnessWatch($0, root: app.path) }
        let deadline = ContinuousClock.now + .seconds(app.health.timeout)
        let settle = Double(app.health.settle)
        var failures: [String] = []
        var interval = Self.firstRetryInterval
        var passingSince: ContinuousClock.Instant?
        repeat {
            failures = attempt(fresh: &fresh, remaining: max(1, deadline.secondsLeft))
            if failures.isEmpty {
                passingSince = passingSince ?? ContinuousClock.now
            } else {
                passingSince = nil
            }
            // Every attempt is guarded; the one that ends the wait in full (one pass, not a cheap one and then a
            // full one: each walks the whole manifest).
            let settled = passingSince.map { $0.secondsElapsed >= settle } ?? false
            let damaged = dataGuard(settled ? .full : .cheap)
            if !damaged.isEmpty { return Self.damageReport(damaged) }
            if settled { return nil }
            // A unit systemd gave up on stays down: waiting out the timeout would change nothing.
            if failures.contains(where: Systemctl.reportsStartLimit) { break }
            if deadline.secondsLeft <= 0 { break }
            var pause = min(interval, max(0, deadline.secondsLeft))
            if let since = passingSince { pause = min(pause, max(0, since.secondsLeft + settle)) }
            Pause.seconds(pause)
            interval = min(interval * 2, Self.maxRetryInterval)
        } while true
        if failures.isEmpty, let since = passingSince {
            let passed = (since.secondsElapsed * 10).rounded(.down) / 10
            return "the checks passed for \(passed)s of the \(app.health.settle)s health.settle, then the "
                + "\(app.health.timeout)s health.timeout ran out"
        }
        return failures.joined(separator: "; ")
    }

    /// The health failure that names each damaged file.
    static func damageReport(_ damaged: [String]) -> String {
        "the new code damaged the data: " + damaged.joined(separator: "; ")
    }

    /// One attempt: every service check, the health command and the freshness check; their failures.
    private func attempt(fresh: inout FreshnessWatch?, remaining: Double) -> [String] {
        var failures = services.checkAll(timeout: remaining)
        if let command = app.health.command,
           let failure = services.run(command, name: "health", timeout: remaining, what: "command", quiet: true) {
            failures.append(failure)
        }
        if let failure = fresh?.failure() { failures.append(failure) }
        return failures
    }

    /// The warning a deploy gives once when nothing can tell a healthy app from a crashed one: no service
    /// with a check (a systemd unit has one: is-active), no health command, no freshness check.
    static func uncheckedWarning(_ app: AppConfig) -> Event.Warning? {
        let checked = app.services.contains { service in
            switch service {
            case .command(_, _, let check, _): check != nil
            case .systemd: true
            }
        }
        guard !checked, app.health.command == nil, app.health.fresh == nil else { return nil }
        return Event.Warning(code: "no_health_check", message: "app \(app.name) has no health check: a new commit "
            + "that crashes after its restart counts as deployed. Add a service check:, health.command or health.fresh "
            + "(with health.settle) to agent.yml")
    }

    /// The freshness rule as `status` applies it: something under `check.path` was written within `check.within`
    /// seconds. (A deploy's health phase asks more — written since the restart — through ``FreshnessWatch``.)
    ///
    /// - Returns: nil when fresh, else why not.
    static func freshness(_ check: FreshnessCheck, app: AppConfig, now: Timestamp = Timestamp.now()) -> String? {
        let path = app.path + "/" + check.path
        var newest: Timestamp?
        if let stats = DirectoryStats.measure(path) {
            newest = stats.newestMtime
        } else if let info = try? FileSystem.lstatIfExists(path) {
            newest = Timestamp(timeIntervalSince1970: Double(FileSystem.mtime(info)) / 1e9)
        }
        guard let newest else { return "nothing under \(check.path) was ever written (fresh within \(check.within)s)" }
        let age = now.timeIntervalSince(newest)
        guard age <= Double(check.within) else {
            return "\(check.path) is stale: last written \(Int(age))s ago (fresh within \(check.within)s)"
        }
        return nil
    }
}
