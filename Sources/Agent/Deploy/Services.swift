import Foundation
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
    /// - Returns: nil on success, else a one-line reason.
    func restartAll() -> String? {
        for service in app.services {
            if let failure = restart(service) { return failure }
        }
        return nil
    }

    /// Restarts one service.
    func restart(_ service: ServiceConfig) -> String? {
        switch service {
        case .command(let name, let restart, _, let timeout):
            return run(restart, name: name, timeout: Double(timeout), what: "restart", capture: true)
        case .systemd(let unit, let scope, let timeout):
            let systemd = Systemctl(unit: unit, scope: scope)
            let started = Date()
            let failure = run(systemd.restart, name: unit, timeout: Double(timeout), what: "restart",
                              environment: systemd.environment)
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
        app.services.compactMap { service in
            switch service {
            case .command(let name, _, let check?, let limit):
                return run(check, name: name, timeout: min(timeout, Double(limit)), what: "check", quiet: true)
            case .command:
                return nil
            case .systemd(let unit, let scope, let limit):
                let systemd = Systemctl(unit: unit, scope: scope)
                let failure = run(systemd.isActive, name: unit, timeout: min(timeout, Double(limit)), what: "check",
                                  quiet: true, environment: systemd.environment)
                return failure.map {
                    systemd.explain($0, timeout: min(timeout, Double(limit)), restarted: journals.since[unit])
                }
            }
        }
    }

    /// Runs a hook or service command in the work tree. Returns nil on success, else why not. With `capture`,
    /// its output is also kept in the service's ``ServiceOutput`` (for `shipkeep logs --service`).
    func run(_ argv: [String], name: String, timeout: Double, what: String, quiet: Bool = false,
             environment: [String: String] = [:], capture: Bool = false) -> String? {
        let output = capture ? ServiceOutput(state: StateDirectory(path: app.state), service: name) : nil
        do {
            let outcome = try ProcessRunner.run(argv, cwd: app.path,
                                                environment: ChildEnvironment.app(app).merging(environment) { $1 },
                                                timeout: max(timeout, 0.1)) { stream, line in
                output?.append(stream: stream, line: line)
                if !quiet { onLine(name, stream, line) }
            }
            guard outcome.succeeded else {
                let said = outcome.stderr.split(separator: "\n").last.map { ": \($0)" } ?? ""
                return "\(name) \(what) (\(argv.joined(separator: " "))) \(outcome.describe(timeout: timeout))\(said)"
            }
            return nil
        } catch {
            return "\(name) \(what): \(error)"
        }
    }
}

/// Journal read positions per unit. A class so that copies of ``Services`` share them; used by one deploy worker
/// thread at a time.
final class JournalCursors {
    var since: [String: Date] = [:]
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
    /// - Parameter since: when the restart finished; a fresh write must come after it.
    /// - Returns: nil when healthy, else the failures of the last attempt.
    func wait(since restart: Date) -> String? {
        let deadline = Date().addingTimeInterval(Double(app.health.timeout))
        let settle = Double(app.health.settle)
        var failures: [String] = []
        var interval = Self.firstRetryInterval
        var passingSince: Date?
        repeat {
            let damaged = dataGuard(.cheap)
            if !damaged.isEmpty { return Self.damageReport(damaged) }
            failures = attempt(since: restart, remaining: max(1, deadline.timeIntervalSinceNow))
            // A unit systemd gave up on stays down: waiting out the timeout would change nothing.
            if failures.contains(where: Systemctl.reportsStartLimit) { break }
            if failures.isEmpty {
                let since = passingSince ?? Date()
                passingSince = since
                if Date().timeIntervalSince(since) >= settle {
                    let damaged = dataGuard(.full)
                    return damaged.isEmpty ? nil : Self.damageReport(damaged)
                }
            } else {
                passingSince = nil
            }
            if deadline.timeIntervalSinceNow <= 0 { break }
            var pause = min(interval, max(0, deadline.timeIntervalSinceNow))
            if let since = passingSince { pause = min(pause, max(0, since.timeIntervalSinceNow + settle)) }
            Thread.sleep(forTimeInterval: pause)
            interval = min(interval * 2, Self.maxRetryInterval)
        } while true
        if failures.isEmpty, let since = passingSince {
            let passed = (Date().timeIntervalSince(since) * 10).rounded(.down) / 10
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
    private func attempt(since restart: Date, remaining: Double) -> [String] {
        var failures = services.checkAll(timeout: remaining)
        if let command = app.health.command,
           let failure = services.run(command, name: "health", timeout: remaining, what: "command", quiet: true) {
            failures.append(failure)
        }
        if let fresh = app.health.fresh, let failure = freshness(fresh, since: restart) {
            failures.append(failure)
        }
        return failures
    }

    private func freshness(_ check: FreshnessCheck, since restart: Date) -> String? {
        let path = app.path + "/" + check.path
        var newest: Date?
        if let stats = DirectoryStats.measure(path) {
            newest = stats.newestMtime
        } else if let info = try? FileSystem.lstatIfExists(path) {
            newest = Date(timeIntervalSince1970: Double(FileSystem.mtime(info)) / 1e9)
        }
        guard let newest, newest > restart, Date().timeIntervalSince(newest) <= Double(check.within) else {
            return "nothing under \(check.path) was written since the restart (fresh within \(check.within)s)"
        }
        return nil
    }
}
