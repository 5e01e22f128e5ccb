/// The sudoers rule that lets a deploy user who is not root restart its system units, and nothing else: the agent
/// runs `sudo -n systemctl restart UNIT` (and `systemctl is-active UNIT`, and `systemctl reset-failed UNIT` before
/// the restart of a rollback or a recovery, so that the old code starts even after the new code ran the unit into
/// systemd's start limit; `systemctl stop|start UNIT` for `shipkeep stop` and `shipkeep start`) with exactly these
/// arguments.
/// `shipkeep install` prints it; the agent names it when sudo refuses.
public enum SudoersRule {
    /// Where systemctl is on Debian and Ubuntu; sudoers matches commands by absolute path.
    public static let systemctl = "/usr/bin/systemctl"

    /// One line for `/etc/sudoers.d/shipkeep` (edit with `visudo -f`).
    ///
    /// - Parameters:
    ///   - user: The deploy user the agent runs as.
    ///   - units: The system-scope units of its apps.
    public static func line(user: String, units: [String]) -> String {
        let commands = units.flatMap { [
            "\(systemctl) restart \($0)", "\(systemctl) is-active \($0)", "\(systemctl) reset-failed \($0)",
            "\(systemctl) stop \($0)", "\(systemctl) start \($0)",
        ] }
        return "\(user) ALL=(root) NOPASSWD: " + commands.joined(separator: ", ")
    }

    /// The command that lets `user` read the system journal, where system units log: the agent streams a unit's
    /// journal lines during the restart and the health checks, and without it sees none of them.
    public static func journalCommand(user: some StringProtocol) -> String {
        "usermod -aG systemd-journal \(user)"
    }
}
