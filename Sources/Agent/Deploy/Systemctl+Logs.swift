import Platform
import Shared

extension Systemctl {
    /// The unit's journal for `shipkeep logs`, with each line's time (`-o short-iso`): the last `lines` (since
    /// `since`, when given) or, with a `cursor`, everything after it; and the cursor to read on from. Empty
    /// with `readable` false when journalctl fails (a system unit's journal needs the `systemd-journal` group).
    func journalForLogs(lines: Int?, since: Timestamp?, after cursor: String?) -> (lines: [String], cursor: String?,
                                                                          readable: Bool) {
        var argv = ["journalctl"] + (scope == .user ? ["--user"] : [])
        argv += ["-u", unit, "--no-pager", "-q", "-o", "short-iso", "--show-cursor"]
        if let cursor {
            argv += ["--after-cursor", cursor]
        } else {
            if let lines { argv += ["-n", String(lines)] }
            if let since { argv += ["--since", Systemctl.journalTime(since)] }
        }
        guard let outcome = try? ProcessRunner.run(argv, environment: environment, timeout: 10), outcome.succeeded else {
            return ([], cursor, false)
        }
        var found = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if found.last == "" { found.removeLast() }
        var next = cursor
        if let last = found.last, last.hasPrefix("-- cursor: ") {
            next = String(last.dropFirst("-- cursor: ".count))
            found.removeLast()
        }
        return (found, next, true)
    }
}
