import Platform
import Shared

/// A systemd unit's journal, for `shipkeep logs --service UNIT`: read with journalctl, then followed by asking
/// for what came after the last cursor, once a second.
final class JournalLogSource {
    let systemctl: Systemctl
    private var cursor: String?
    private var lastRead = Timestamp.distantPast
    private var warned = false

    /// How often a followed journal is asked again.
    static let interval = 1.0

    init(_ systemctl: Systemctl) {
        self.systemctl = systemctl
    }

    var label: String { systemctl.unit }

    func start(lines: Int, since: Timestamp?) -> [FileLogSource.Output] {
        read(lines: lines, since: since)
    }

    func poll() -> [FileLogSource.Output] {
        guard Timestamp.now() - lastRead >= Self.interval else { return [] }
        return read(lines: nil, since: cursor == nil ? lastRead : nil)
    }

    private func read(lines: Int?, since: Timestamp?) -> [FileLogSource.Output] {
        lastRead = Timestamp.now()
        let read = systemctl.journalForLogs(lines: lines, since: since, after: cursor)
        cursor = read.cursor
        guard read.readable else {
            guard !warned else { return [] }
            warned = true
            let hint = systemctl.scope == .system ? " (a system unit's journal needs the agent's user in the "
                + "systemd-journal group: usermod -aG systemd-journal USER)" : ""
            return [.note(code: "journal_unreadable", message: "journalctl cannot read the journal of \(label)\(hint)")]
        }
        return read.lines.map { .line(LogLine.cut($0)) }
    }
}
