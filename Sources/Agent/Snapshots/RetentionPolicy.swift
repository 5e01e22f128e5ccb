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
        var createdAt: Timestamp
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

    /// The ids kept, of `snapshots`, oldest first (in the order of ``SnapshotStore/ids()``, which decides which
    /// of two snapshots is newer; `createdAt` only places each in its hour, day and week).
    func kept(_ snapshots: [Candidate]) -> Set<String> {
        let newestFirst = Array(snapshots.reversed())
        let good = newestFirst.filter(\.successful)
        var kept = Set(good.prefix(keep).map(\.id))
        kept.formUnion(newestFirst.filter { !$0.successful }.prefix(keepFailed).map(\.id))
        kept.formUnion(Self.newestPerPeriod(good, periods: hourly) { Self.periods($0, of: 3600) })
        kept.formUnion(Self.newestPerPeriod(good, periods: daily) { Self.periods($0, of: 86_400) })
        // ISO weeks begin on Monday, and 1970-01-01 was a Thursday: weeks counted from Monday 1969-12-29.
        kept.formUnion(Self.newestPerPeriod(good, periods: weekly) {
            Self.periods($0.addingTimeInterval(3 * 86_400), of: 7 * 86_400)
        })
        return kept
    }

    /// Which UTC period of `length` seconds since the epoch `time` falls in (hours, days and weeks of UTC
    /// have no leap seconds to count).
    private static func periods(_ time: Timestamp, of length: Double) -> Int64 {
        Int64((time.timeIntervalSince1970 / length).rounded(.down))
    }

    /// The newest snapshot of each of the newest `periods` periods that have one; `newestFirst` is sorted so.
    private static func newestPerPeriod(_ newestFirst: [Candidate], periods: Int,
                                        period: (Timestamp) -> Int64) -> [String] {
        guard periods > 0 else { return [] }
        var seen = Set<Int64>()
        var ids: [String] = []
        for snapshot in newestFirst {
            guard seen.count < periods || seen.contains(period(snapshot.createdAt)) else { break }
            if seen.insert(period(snapshot.createdAt)).inserted { ids.append(snapshot.id) }
        }
        return ids
    }
}
