import FoundationEssentials
import Platform
import Shared

/// Which snapshots agent.yml's retention keeps (see ``SnapshotConfig``): a pure function of the snapshots'
/// times and outcomes, so a month of hourly snapshots can be checked without waiting a month.
///
/// Successful snapshots are kept if among the newest `keep`, or the newest of their hour among the newest
/// `hourly` hours that have one, of their UTC day among the newest `daily` days, of their ISO week among the
/// newest `weekly` weeks. Unsuccessful ones (a failed or rolled-back deploy, a worker that died) are counted
/// apart: the newest `keepFailed` of them are kept, and they take no slot of a successful one.
struct RetentionPolicy {
    /// One snapshot as the policy sees it.
    struct Candidate: Equatable {
        var id: String
        var createdAt: Date
        var successful: Bool
    }

    let keep: Int
    let hourly: Int
    let daily: Int
    let weekly: Int
    let keepFailed: Int

    /// The policy of an app's agent.yml.
    init(_ config: SnapshotConfig) {
        self.init(keep: config.keep, hourly: config.hourly, daily: config.daily, weekly: config.weekly,
                  keepFailed: config.keepFailed)
    }

    init(keep: Int, hourly: Int = 0, daily: Int = 0, weekly: Int = 0, keepFailed: Int? = nil) {
        self.keep = keep
        self.hourly = hourly
        self.daily = daily
        self.weekly = weekly
        self.keepFailed = keepFailed ?? keep
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The ids kept, of `snapshots`, oldest first (in the order of ``SnapshotStore/ids()``, which decides which
    /// of two snapshots is newer; `createdAt` only places each in its hour, day and week).
    func kept(_ snapshots: [Candidate]) -> Set<String> {
        let newestFirst = Array(snapshots.reversed())
        let good = newestFirst.filter(\.successful)
        var kept = Set(good.prefix(keep).map(\.id))
        kept.formUnion(newestFirst.filter { !$0.successful }.prefix(keepFailed).map(\.id))
        kept.formUnion(Self.newestPerPeriod(good, periods: hourly) {
            Self.calendar.dateComponents([.year, .month, .day, .hour], from: $0)
        })
        kept.formUnion(Self.newestPerPeriod(good, periods: daily) {
            Self.calendar.dateComponents([.year, .month, .day], from: $0)
        })
        kept.formUnion(Self.newestPerPeriod(good, periods: weekly) {
            Self.calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: $0)
        })
        return kept
    }

    /// The newest snapshot of each of the newest `periods` periods that have one; `newestFirst` is sorted so.
    private static func newestPerPeriod(_ newestFirst: [Candidate], periods: Int,
                                        period: (Date) -> DateComponents) -> [String] {
        guard periods > 0 else { return [] }
        var seen = Set<DateComponents>()
        var ids: [String] = []
        for snapshot in newestFirst {
            guard seen.count < periods || seen.contains(period(snapshot.createdAt)) else { break }
            if seen.insert(period(snapshot.createdAt)).inserted { ids.append(snapshot.id) }
        }
        return ids
    }
}
