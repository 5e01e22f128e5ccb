import FoundationEssentials
import Platform

/// Times as the agent writes them into ids and file names, formatted with the C library: a
/// `DateFormatter` would load ICU's calendar data into every worker for one string.
enum Timestamp {
    /// `20261125T101500Z`: UTC to the second, sortable as text.
    static func compact(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }
}
