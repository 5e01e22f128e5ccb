import Foundation
import Shared

/// What `install --snapshot-timer` or `--remove-snapshot-timer` asks for.
enum SnapshotTimerRequest: Equatable {
    /// Write (or keep) the timer of `app`, or of every app of the VM's agent.yml, firing on `calendar`.
    case install(calendar: String, app: String?)
    /// Stop and remove the timer of `app`, or of every app of the VM's agent.yml.
    case remove(app: String?)

    var app: String? {
        switch self {
        case .install(_, let app), .remove(let app): app
        }
    }
}

/// What the timer step did, for the report and `--json`.
struct SnapshotTimerOutcome: Encodable {
    /// One app's timer.
    struct Unit: Encodable {
        var app: String
        var timer: String
        /// `added`, `kept` (the same files were there), `updated`, `removed`, `absent` (nothing to remove) or
        /// `foreign` (files of that name not written by install, left alone).
        var change: String
    }

    /// The `OnCalendar` value, when installing.
    var calendar: String?
    /// The unit directory on the VM.
    var directory: String
    /// `user` (the deploy user's own manager) or `system` (the deploy user is root).
    var manager: String
    var units: [Unit]
    /// Whether systemd took the change (reloaded, timers enabled and started, or stopped and disabled).
    var applied: Bool
    /// What systemctl said when it could not reach the manager.
    var problem: String?
    /// The line to run as root so the user's manager runs without a login (and with it the timers), when it
    /// does not linger yet.
    var lingerCommand: String?

    /// The human lines.
    var report: String {
        let inert = ControlCharacters.escaped
        let list = units.isEmpty ? "no apps" : units.map { "\($0.timer) \($0.change)" }.joined(separator: ", ")
        var text: String
        if let calendar {
            text = "snapshot timers (OnCalendar=\(inert(calendar))) in \(inert(directory)): \(inert(list))"
            text += applied ? "; enabled and started" : "; written but not started"
        } else {
            text = "snapshot timers in \(inert(directory)): \(inert(list))"
        }
        if let problem { text += "\n  \(manager == "user" ? "systemctl --user" : "systemctl"): \(inert(problem))" }
        if let lingerCommand {
            text += """

                the timers run only while the deploy user has a session, unless its systemd manager lingers: as \
                root on the VM run
                \(lingerCommand)\(applied ? "" : "\nthen run this install again to start them")
                """
        }
        return text
    }
}

/// `install --snapshot-timer`: the units written over SFTP (each to a temporary name renamed into place, and only
/// when it differs), then `systemctl daemon-reload` and `enable --now` through an exec channel, argv only.
extension Installer {
    /// Carries out `request` for the apps the agent answered with.
    ///
    /// - Throws: ``ControllerError`` `.usage` for an app agent.yml does not name or a calendar the VM's systemd
    ///   refuses; `.local` when the system manager cannot be asked; SSH errors.
    func snapshotTimers(_ request: SnapshotTimerRequest, apps: [String], home: String, agentPath: String,
                        configPath: String, connection: SSHConnection, sftp: SFTPClient) throws
        -> SnapshotTimerOutcome {
        let user = plan.target.ssh.user
        let id = try runRemote(["id", "-u"], connection: connection)
        let uid = id.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard id.status == 0, !uid.isEmpty, uid.allSatisfy(\.isNumber) else {
            throw ControllerError(.local, "cannot tell the deploy user's uid on the VM (`id -u`: \(id.stderr))")
        }
        let scope = SnapshotTimerScope.forUser(user, uid: uid, home: home)
        let chosen: [String]
        if let app = request.app {
            guard apps.contains(app) else {
                throw ControllerError(.usage, "no app named \"\(app)\" in the VM's agent.yml (configured: "
                    + "\(apps.isEmpty ? "none" : apps.joined(separator: ", "))); a snapshot timer needs one")
            }
            chosen = [app]
        } else {
            chosen = apps
        }
        var outcome: SnapshotTimerOutcome
        switch request {
        case .install(let calendar, _):
            step("installing the snapshot timers (OnCalendar=\(calendar)) in \(scope.directory)")
            try checkCalendar(calendar, connection: connection)
            outcome = try installTimers(chosen, calendar: calendar, scope: scope,
                                        agent: Self.absolute(agentPath, home: home),
                                        config: Self.absolute(configPath, home: home), connection: connection,
                                        sftp: sftp)
        case .remove:
            step("removing the snapshot timers from \(scope.directory)")
            outcome = try removeTimers(chosen, scope: scope, connection: connection, sftp: sftp)
        }
        if scope.user, case .install = request, try sftp.stat("/var/lib/systemd/linger/" + user) == nil {
            outcome.lingerCommand = "loginctl enable-linger " + user
        }
        if !outcome.applied && !scope.user {
            throw ControllerError(.local, "the VM's systemd did not take the snapshot timers: "
                + (outcome.problem ?? "systemctl failed"))
        }
        return outcome
    }

    private func installTimers(_ apps: [String], calendar: String, scope: SnapshotTimerScope, agent: String,
                               config: String, connection: SSHConnection, sftp: SFTPClient) throws
        -> SnapshotTimerOutcome {
        try sftp.makeDirectories(scope.directory, mode: 0o755)
        var units: [SnapshotTimerOutcome.Unit] = []
        for app in apps {
            let files = SnapshotTimerUnits(app: app, agent: agent, config: config, calendar: calendar)
            var written = 0, existed = 0
            for (name, text) in [(files.service, files.serviceText), (files.timer, files.timerText)] {
                let path = scope.directory + "/" + name
                let old = try sftp.stat(path) == nil ? nil : try sftp.readFile(path, limit: 1 << 16)
                if old != nil { existed += 1 }
                if old != Array(text.utf8) {
                    try sftp.upload(data: Array(text.utf8), to: path, mode: 0o644)
                    written += 1
                }
            }
            units.append(.init(app: app, timer: files.timer,
                               change: written == 0 ? "kept" : existed == 0 ? "added" : "updated"))
        }
        var outcome = SnapshotTimerOutcome(calendar: calendar, directory: scope.directory,
                                           manager: scope.user ? "user" : "system", units: units, applied: true)
        let timers = units.map(\.timer)
        guard !timers.isEmpty else { return outcome }
        var problem: String?
        if units.contains(where: { $0.change != "kept" }) {
            problem = try systemctl(scope, ["daemon-reload"], connection: connection)
        }
        if problem == nil {
            problem = try systemctl(scope, ["enable", "--now"] + timers, connection: connection)
        }
        // A changed calendar takes effect when the timer starts again.
        let updated = units.filter { $0.change == "updated" }.map(\.timer)
        if problem == nil, !updated.isEmpty {
            problem = try systemctl(scope, ["restart"] + updated, connection: connection)
        }
        outcome.applied = problem == nil
        outcome.problem = problem
        return outcome
    }

    private func removeTimers(_ apps: [String], scope: SnapshotTimerScope, connection: SSHConnection,
                              sftp: SFTPClient) throws -> SnapshotTimerOutcome {
        var units: [SnapshotTimerOutcome.Unit] = []
        var problem: String?
        for app in apps {
            let base = scope.directory + "/" + SnapshotTimerUnits.baseName(app: app)
            let paths = [base + ".timer", base + ".service"]
            var present: [String] = []
            var foreign = false
            for path in paths where try sftp.stat(path) != nil {
                present.append(path)
                let head = String(decoding: try sftp.readFile(path, limit: 1 << 16), as: UTF8.self)
                if !head.hasPrefix(SnapshotTimerUnits.marker) { foreign = true }
            }
            let timer = SnapshotTimerUnits.baseName(app: app) + ".timer"
            guard !present.isEmpty, !foreign else {
                units.append(.init(app: app, timer: timer, change: present.isEmpty ? "absent" : "foreign"))
                continue
            }
            // Stopped and disabled while the files are there, so systemd removes its own wants link.
            if let said = try systemctl(scope, ["disable", "--now", timer], connection: connection) {
                problem = problem ?? said
            }
            for path in present { try sftp.remove(path) }
            units.append(.init(app: app, timer: timer, change: "removed"))
        }
        if units.contains(where: { $0.change == "removed" }),
           let said = try systemctl(scope, ["daemon-reload"], connection: connection) {
            problem = problem ?? said
        }
        return SnapshotTimerOutcome(calendar: nil, directory: scope.directory, manager: scope.user ? "user" : "system",
                                    units: units, applied: problem == nil, problem: problem)
    }

    /// Runs `systemctl VERB…` for `scope`; nil when it succeeded, else the last line it said.
    private func systemctl(_ scope: SnapshotTimerScope, _ arguments: [String], connection: SSHConnection) throws
        -> String? {
        let result = try runRemote(scope.systemctl + arguments, connection: connection)
        guard result.status != 0 else { return nil }
        let said = result.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(result.status ?? -1)"
        return "\(arguments.first ?? "") failed: " + said
    }

    /// Asks the VM's `systemd-analyze calendar` whether it takes `calendar` (skipped when the VM has none).
    private func checkCalendar(_ calendar: String, connection: SSHConnection) throws {
        let checked = try runRemote(["systemd-analyze", "calendar", calendar], connection: connection)
        guard checked.status != 0, checked.status != 127 else { return }
        let said = checked.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(checked.status ?? -1)"
        throw ControllerError(.usage, "the VM's systemd does not take --snapshot-calendar "
            + "\"\(ControlCharacters.escaped(calendar))\" (\(ControlCharacters.escaped(said))): give one like "
            + "hourly, daily, *:0/15 or Mon..Fri 02:00")
    }

    /// `path` as systemd needs it, absolute: SFTP resolves a relative one against the login user's home.
    static func absolute(_ path: String, home: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return home + "/" + path
    }
}
