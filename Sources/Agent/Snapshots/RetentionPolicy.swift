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
        /// When it was taken, in seconds since the epoch (only its UTC hour, day and ISO week matter).
        var createdAt: Int64
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

    /// The time of a snapshot whose summary cannot be read: the second of Foundation's `Date.distantPast`, as
    /// before, which places all of them in one hour, day and week, long before any other.
    static let longAgo: Int64 = -62_135_769_600

    /// The ids kept, of `snapshots`, oldest first (in the order of ``SnapshotStore/ids()``, which decides which
    /// of two snapshots is newer; `createdAt` only places each in its hour, day and week).
    func kept(_ snapshots: [Candidate]) -> Set<String> {
        let newestFirst = Array(snapshots.reversed())
        let good = newestFirst.filter(\.successful)
        var kept = Set(good.prefix(keep).map(\.id))
        kept.formUnion(newestFirst.filter { !$0.successful }.prefix(keepFailed).map(\.id))
        kept.formUnion(Self.newestPerPeriod(good, periods: hourly, period: Self.hour))
        kept.formUnion(Self.newestPerPeriod(good, periods: daily, period: Self.day))
        kept.formUnion(Self.newestPerPeriod(good, periods: weekly, period: Self.week))
        return kept
    }

    /// The UTC hour of `seconds` since the epoch: year, month, day, hour.
    static func hour(_ seconds: Int64) -> [Int] {
        let time = CivilTime(epochSeconds: seconds)
        return [time.year, time.month, time.day, time.hour]
    }

    /// The UTC day of `seconds` since the epoch: year, month, day.
    static func day(_ seconds: Int64) -> [Int] {
        let time = CivilTime(epochSeconds: seconds)
        return [time.year, time.month, time.day]
    }

    /// The ISO 8601 week of `seconds` since the epoch, in UTC: week-numbering year, week.
    static func week(_ seconds: Int64) -> [Int] {
        let time = CivilTime(epochSeconds: seconds)
        return [time.weekYear, time.week]
    }

    /// The newest snapshot of each of the newest `periods` periods that have one; `newestFirst` is sorted so.
    private static func newestPerPeriod(_ newestFirst: [Candidate], periods: Int,
                                        period: (Int64) -> [Int]) -> [String] {
        guard periods > 0 else { return [] }
        var seen = Set<[Int]>()
        var ids: [String] = []
        for snapshot in newestFirst {
            guard seen.count < periods || seen.contains(period(snapshot.createdAt)) else { break }
            if seen.insert(period(snapshot.createdAt)).inserted { ids.append(snapshot.id) }
        }
        return ids
    }
}
