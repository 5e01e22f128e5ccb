import Platform
import Shared

/// The `systemctl` commands for one `systemd:` service, as the agent's user may run them, and what their
/// failures mean.
///
/// - user scope: `systemctl --user …` with `XDG_RUNTIME_DIR=/run/user/UID` (a deploy started from a detached
///   worker or a forced-command session may have none), which finds the user's manager; lingering keeps that
///   manager running without a login.
/// - system scope: `systemctl …` as root; otherwise `sudo -n systemctl restart UNIT` with exactly the words of
///   ``SudoersRule`` (no `--`: sudoers matches arguments literally; the unit is checked not to start with `-`).
///   `is-active` needs no privilege.
struct Systemctl {
    let unit: String
    let scope: SystemdScope
    /// The agent's effective uid (a parameter for tests).
    var uid: uid_t = geteuid()

    /// argv for `systemctl VERB UNIT` as this agent may run it: `--user`, or through `sudo -n` for a system unit
    /// when the agent is not root, with exactly the words of ``SudoersRule`` (`restart`, `reset-failed`, `stop`,
    /// `start`).
    func argv(_ verb: String) -> [String] {
        switch scope {
        case .user: ["systemctl", "--user", verb, "--", unit]
        case .system where uid == 0: ["systemctl", verb, "--", unit]
        case .system: ["sudo", "-n", "systemctl", verb, unit]
        }
    }

    /// argv for the restart.
    var restart: [String] { argv("restart") }

    /// argv that clears the unit's failed state and its start-limit counter, so that the next restart is tried.
    var resetFailed: [String] { argv("reset-failed") }

    /// argv for the check: exit 0 while the unit is active.
    var isActive: [String] {
        scope == .user
            ? ["systemctl", "--user", "is-active", "--quiet", "--", unit]
            : ["systemctl", "is-active", "--quiet", "--", unit]
    }

    /// Extra environment for every systemctl call of this scope.
    var environment: [String: String] {
        guard scope == .user else { return [:] }
        let set = getenv("XDG_RUNTIME_DIR").map { String(cString: $0) } ?? ""
        return ["XDG_RUNTIME_DIR": set.isEmpty ? "/run/user/\(uid)" : set]
    }

    /// One line for a failed restart or check: which set-up is missing when systemctl or sudo was refused, the
    /// start limit when the unit hit it (since `restarted`, when the unit was restarted), else `failure` as it is.
    func explain(_ failure: String, timeout: Double, restarted: Timestamp? = nil) -> String {
        let said = failure.lowercased()
        let user = Self.userName(uid)
        if said.includes("a password is required") || said.includes("access denied")
            || said.includes("interactive authentication required") || said.includes("not allowed to execute") {
            switch scope {
            case .system:
                return "\(unit) restart: \(user) may not restart the system unit \(unit): add the sudoers rule "
                    + "`shipkeep install` prints (\(SudoersRule.line(user: user, units: [unit]))), or run the bot "
                    + "as a user unit (systemd: {unit: \(unit), scope: user}) — systemctl said: \(failure)"
            case .user:
                return "\(unit): \(user)'s own systemd refused the request: is \(unit) a user unit in "
                    + "~/.config/systemd/user? (a system unit needs scope: system and the sudoers rule) — \(failure)"
            }
        }
        if scope == .user && (said.includes("failed to connect to bus") || said.includes("no medium found")) {
            return "\(unit): \(user) has no running systemd user manager: enable lingering (`sudo loginctl "
                + "enable-linger \(user)`) so user units run without a login and start at boot — \(failure)"
        }
        if hitStartLimit(timeout: timeout, since: restarted) {
            return "\(unit) hit systemd's start limit (\(Self.startLimitHit): started too often in too short a time); "
                + "fix what makes it exit, then `systemctl \(scope == .user ? "--user " : "")reset-failed \(unit)` "
                + "(or set StartLimitIntervalSec= in the unit) — \(failure)"
        }
        return failure
    }

    /// systemd's name for the result, as the explanation of a refused start says it.
    static let startLimitHit = "start-limit-hit"

    /// Whether `failure` (from ``explain(_:timeout:restarted:)``) says the unit hit the start limit: final, since
    /// systemd does not start it again by itself.
    static func reportsStartLimit(_ failure: String) -> Bool {
        failure.includes("(\(startLimitHit):")
    }

    /// Whether systemd refused to start the unit for its start limit. `Result` says `start-limit-hit` only when
    /// the run before had succeeded; a unit that crashed its way into the limit keeps `exit-code`, and only its
    /// journal says "Start request repeated too quickly".
    func hitStartLimit(timeout: Double, since restarted: Timestamp?) -> Bool {
        if result(timeout: timeout) == Self.startLimitHit { return true }
        guard let restarted else { return false }
        let lines = journal(after: nil, since: restarted).lines
        return lines.contains { $0.includes("Start request repeated too quickly") }
    }

    /// The unit's `Result` property (`success`, `exit-code`, `start-limit-hit`…), or nil when unknown.
    func result(timeout: Double) -> String? {
        let argv = ["systemctl"] + (scope == .user ? ["--user"] : []) + ["show", "-p", "Result", "--value", "--", unit]
        guard let outcome = try? ProcessRunner.run(argv, environment: environment, timeout: max(1, min(timeout, 5))),
              outcome.succeeded else { return nil }
        return outcome.stdout.trimming(while: \.isWhitespace)
    }

    /// The unit's journal lines (messages only) after `cursor`, or since `since` when there is none, and the
    /// cursor to read on from. Empty when the journal cannot be read (a system unit's journal needs the
    /// `systemd-journal` group).
    func journal(after cursor: String?, since: Timestamp) -> (lines: [String], cursor: String?) {
        var argv = ["journalctl"] + (scope == .user ? ["--user"] : [])
        argv += ["-u", unit, "--no-pager", "-q", "-o", "cat", "--show-cursor"]
        let start = Self.journalTime(since)
        argv += cursor.map { ["--after-cursor", $0] } ?? ["--since", start]
        guard let outcome = try? ProcessRunner.run(argv, environment: environment, timeout: 3), outcome.succeeded else {
            return ([], cursor)
        }
        var lines = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var next = cursor
        if let last = lines.last, last.hasPrefix("-- cursor: ") {
            next = String(last.dropFirst("-- cursor: ".count))
            lines.removeLast()
        }
        return (lines, next)
    }

    /// `@SECONDS.MICROSECONDS`, the form journalctl's `--since` takes for an exact time.
    static func journalTime(_ date: Timestamp) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1e6).rounded())
        let fraction = String(micros % 1_000_000)
        return "@\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    private static func userName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid) else { return "uid \(uid)" }
        return String(cString: entry.pointee.pw_name)
    }
}
