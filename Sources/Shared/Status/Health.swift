/// An overall verdict, ordered from best to worst, with the Nagios plugin exit codes monitoring expects.
public enum Health: String, Codable, Sendable, Comparable, CaseIterable {
    /// Everything is as it should be.
    case ok
    /// Working, but someone should look (dirty tree, low disk, a rolled-back deploy, a stale lock).
    case warning
    /// Not working or about to lose data (no work tree, disk nearly full, a failed deploy).
    case critical
    /// The state could not be read (unreachable host, refused host key, failed authentication).
    case unknown

    /// The Nagios plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    public var exitCode: Int32 {
        switch self {
        case .ok: 0
        case .warning: 1
        case .critical: 2
        case .unknown: 3
        }
    }

    private var rank: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .unknown: 2
        case .critical: 3
        }
    }

    /// Orders by severity; CRITICAL outranks UNKNOWN when combining verdicts, as Nagios does.
    public static func < (lhs: Health, rhs: Health) -> Bool { lhs.rank < rhs.rank }
}
