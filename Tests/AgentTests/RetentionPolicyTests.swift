import Foundation
import Testing
@testable import Agent

/// agent.yml's retention over a simulated month: a pure function of the snapshots' times, no waiting.
@Suite(.timeLimit(.minutes(5))) struct RetentionPolicyTests {
    /// 2026-11-01T00:30:00Z, a Sunday: the last day of ISO week 44.
    static let startSeconds: Int64 = 1_793_493_000
    static let start = Date(timeIntervalSince1970: Double(startSeconds))

    /// A snapshot every hour for `days` days from ``start``, named by its hour index.
    static func month(days: Int = 30, failed: Set<Int> = []) -> [RetentionPolicy.Candidate] {
        (0..<(days * 24)).map { hour in
            .init(id: String(format: "h%03d", hour), createdAt: startSeconds + Int64(hour) * 3600,
                  successful: !failed.contains(hour))
        }
    }

    static func id(day: Int, hour: Int) -> String { String(format: "h%03d", (day - 1) * 24 + hour) }

    @Test func startIsTheSundayItClaims() {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday, .weekOfYear],
                                            from: Self.start)
        #expect([parts.year, parts.month, parts.day, parts.hour, parts.minute] == [2026, 11, 1, 0, 30])
        #expect(parts.weekday == 1)
        #expect(parts.weekOfYear == 44)
    }

    @Test func keepAloneKeepsTheNewestN() {
        let kept = RetentionPolicy(keep: 5).kept(Self.month(days: 2))
        #expect(kept == Set((43...47).map { String(format: "h%03d", $0) }))
    }

    @Test func aMonthOfHourlySnapshotsKeepsHoursDaysAndWeeks() {
        let snapshots = Self.month()
        let kept = RetentionPolicy(keep: 5, hourly: 24, daily: 14, weekly: 8).kept(snapshots)
        // The last 24 hours: every snapshot of November 30.
        let hourly = Set((0..<24).map { Self.id(day: 30, hour: $0) })
        // The newest of each of the last 14 days: 23:30 of November 17 to 30.
        let daily = Set((17...30).map { Self.id(day: $0, hour: 23) })
        // The newest of each ISO week there is (6 < 8): Sundays 1, 8, 15, 22, 29 and Monday 30.
        let weekly = Set([1, 8, 15, 22, 29, 30].map { Self.id(day: $0, hour: 23) })
        #expect(kept == hourly.union(daily).union(weekly))
        #expect(kept.count == 24 + 13 + 3)
    }

    @Test func fewerPeriodsThanTheMonthHasKeepTheNewestOnes() {
        let kept = RetentionPolicy(keep: 1, daily: 3, weekly: 2).kept(Self.month())
        #expect(kept == Set([Self.id(day: 30, hour: 23), Self.id(day: 29, hour: 23), Self.id(day: 28, hour: 23)]))
        let weeks = RetentionPolicy(keep: 1, weekly: 3).kept(Self.month())
        #expect(weeks == Set([30, 29, 22].map { Self.id(day: $0, hour: 23) }))
    }

    @Test func failedSnapshotsNeverPushOutSuccessfulOnes() {
        // An incident at the end of the month: eight failed or rolled-back deploys in the last eight hours.
        let failedHours = Set((712..<720))
        let snapshots = Self.month(failed: failedHours)
        let policy = RetentionPolicy(keep: 5, hourly: 24, daily: 14, weekly: 8, keepFailed: 2)
        let kept = policy.kept(snapshots)
        let withoutFailed = policy.kept(snapshots.filter(\.successful))
        // Every successful snapshot kept had there been no failures is kept, and the five newest successful
        // ones are the five before the incident.
        #expect(withoutFailed.isSubset(of: kept))
        #expect(Set((707..<712).map { String(format: "h%03d", $0) }).isSubset(of: kept))
        // Of the failed ones, only the newest two.
        #expect(kept.subtracting(withoutFailed) == ["h718", "h719"])
        // With keep alone, as before policies, the same holds.
        let plain = RetentionPolicy(keep: 5).kept(snapshots)
        #expect(plain == Set(["h707", "h708", "h709", "h710", "h711", "h715", "h716", "h717", "h718", "h719"]))
    }

    @Test func theOrderGivenDecidesWhichIsNewerWithinASecond() {
        let same = Self.startSeconds
        let kept = RetentionPolicy(keep: 1, hourly: 1).kept([.init(id: "b", createdAt: same, successful: true),
                                                             .init(id: "a", createdAt: same, successful: true)])
        #expect(kept == ["a"])
    }
}
