import Foundation
import Shared

/// The systemd timer and oneshot service `shipkeep install --snapshot-timer` writes for one app: the service runs
/// `shipkeep-agent snapshot --config FILE --app NAME` as the agent's user (its own user manager, or the system
/// manager when that user is root), the timer starts it on `OnCalendar`.
struct SnapshotTimerUnits: Equatable {
    /// The first line of both files: what a later `install` recognises as its own.
    static let marker = "# Written by `shipkeep install --snapshot-timer`; `--remove-snapshot-timer` removes it."

    let app: String
    let agent: String
    let config: String
    let calendar: String

    /// `shipkeep-snapshot-APP`; app names are plain (letters, digits, `.`, `_`, `-`), so they need no escaping.
    static func baseName(app: String) -> String { "shipkeep-snapshot-" + app }

    var service: String { Self.baseName(app: app) + ".service" }
    var timer: String { Self.baseName(app: app) + ".timer" }

    /// The service's text. Exit 4 (the app is locked by a deploy, which takes its own snapshot) counts as success,
    /// so a timer firing during a deploy leaves no failed unit behind.
    var serviceText: String {
        let exec = [agent, "snapshot", "--config", config, "--app", app].map(Self.quote).joined(separator: " ")
        return """
            \(Self.marker)
            [Unit]
            Description=shipkeep snapshot of \(Self.escapeSpecifiers(app))
            [Service]
            Type=oneshot
            ExecStart=\(exec)
            SuccessExitStatus=4
            Nice=10

            """
    }

    /// The timer's text: `Persistent` runs a firing missed while the VM was off at the next boot.
    var timerText: String {
        let calendar = Self.escapeSpecifiers(calendar)
        return """
            \(Self.marker)
            [Unit]
            Description=shipkeep snapshot of \(Self.escapeSpecifiers(app)), \(calendar)
            [Timer]
            OnCalendar=\(calendar)
            AccuracySec=1s
            Persistent=true
            [Install]
            WantedBy=timers.target

            """
    }

    /// One ExecStart word, taken literally: as it is when it holds only letters, digits and `/._-+,:=@`; else
    /// double-quoted with C-style escapes, `%` doubled (specifiers) and `$` doubled (systemd would expand `$NAME`).
    static func quote(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || "/._-+,:=@".unicodeScalars.contains(scalar)
        }
        if plain { return word }
        var out = "\""
        for character in word {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "%": out += "%%"
            case "$": out += "$$"
            default: out.append(character)
            }
        }
        return out + "\""
    }

    private static func escapeSpecifiers(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%%")
    }

    /// Refuses an `OnCalendar` value that is empty, spans lines or holds control characters before anything is
    /// sent to the VM; the VM's own `systemd-analyze calendar` checks the rest.
    ///
    /// - Throws: ``ControllerError`` of kind `.usage`.
    static func checkCalendar(_ calendar: String) throws(ControllerError) {
        let trimmed = calendar.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.count > 200
            || calendar.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ControllerError(.usage, "--snapshot-calendar \"\(ControlCharacters.escaped(calendar))\" is not "
                + "an OnCalendar value: give one like hourly, daily, *:0/15 or Mon..Fri 02:00")
        }
    }
}

/// Where the units of ``SnapshotTimerUnits`` go, and how `systemctl` reaches their manager.
struct SnapshotTimerScope: Equatable {
    /// The unit directory on the VM.
    let directory: String
    /// The words before a systemctl verb: `systemctl`, or `env XDG_RUNTIME_DIR=/run/user/UID systemctl --user`
    /// (an SSH session without PAM has no XDG_RUNTIME_DIR, and `systemctl --user` needs it to find the manager).
    let systemctl: [String]
    /// Whether these are the deploy user's own units (else the system's: the user is root).
    let user: Bool

    /// The user's manager for a user other than root (`~/.config/systemd/user`); the system manager for root.
    static func forUser(_ user: String, uid: String, home: String) -> SnapshotTimerScope {
        if user == "root" || uid == "0" {
            return SnapshotTimerScope(directory: "/etc/systemd/system", systemctl: ["systemctl"], user: false)
        }
        return SnapshotTimerScope(directory: home + "/.config/systemd/user",
                                  systemctl: ["env", "XDG_RUNTIME_DIR=/run/user/" + uid, "systemctl", "--user"],
                                  user: true)
    }
}
