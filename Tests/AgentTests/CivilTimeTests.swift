import Foundation
import Testing
@testable import Agent

/// Retention's UTC hours, days and ISO weeks (``CivilTime``, integer arithmetic) against what Foundation's
/// ISO 8601 calendar in UTC gave the agent before it stopped linking Foundation.
@Suite(.timeLimit(.minutes(5))) struct CivilTimeTests {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The buckets `Calendar` put `seconds` in: hour, day and week, as ``RetentionPolicy`` keys them.
    static func calendarKeys(_ seconds: Int64) -> [[Int]] {
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .yearForWeekOfYear, .weekOfYear],
                                            from: Date(timeIntervalSince1970: Double(seconds)))
        return [[parts.year!, parts.month!, parts.day!, parts.hour!], [parts.year!, parts.month!, parts.day!],
                [parts.yearForWeekOfYear!, parts.weekOfYear!]]
    }

    static func ownKeys(_ seconds: Int64) -> [[Int]] {
        [RetentionPolicy.hour(seconds), RetentionPolicy.day(seconds), RetentionPolicy.week(seconds)]
    }

    static func at(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0)
        -> Int64 {
        CivilTime.days(fromCivil: year, month, day) * 86_400 + Int64(hour * 3_600 + minute * 60 + second)
    }

    /// Boundaries where a bucket changes: the epoch and before it, year ends whose first days belong to the
    /// previous ISO year or whose last days to the next, years with an ISO week 53, leap days (2000 is a leap
    /// year, 2100 is not), the 32-bit time_t limit, and the month the retention test simulates.
    static let boundaries: [(label: String, seconds: Int64, hour: [Int], day: [Int], week: [Int])] = [
        ("epoch", 0, [1970, 1, 1, 0], [1970, 1, 1], [1970, 1]),
        ("second before the epoch", -1, [1969, 12, 31, 23], [1969, 12, 31], [1970, 1]),
        ("1969-12-28, a Sunday of 1969's week 52", at(1969, 12, 28, 12), [1969, 12, 28, 12], [1969, 12, 28],
         [1969, 52]),
        ("2000-02-29, leap day of a century leap year", at(2000, 2, 29, 23, 59, 59), [2000, 2, 29, 23],
         [2000, 2, 29], [2000, 9]),
        ("2004-12-31, Friday of ISO week 53", at(2004, 12, 31, 12), [2004, 12, 31, 12], [2004, 12, 31], [2004, 53]),
        ("2005-01-02, Sunday still in 2004's week 53", at(2005, 1, 2, 23, 59, 59), [2005, 1, 2, 23], [2005, 1, 2],
         [2004, 53]),
        ("2005-01-03, Monday of week 1", at(2005, 1, 3), [2005, 1, 3, 0], [2005, 1, 3], [2005, 1]),
        ("2008-12-29, Monday of 2009's week 1", at(2008, 12, 29), [2008, 12, 29, 0], [2008, 12, 29], [2009, 1]),
        ("2008-12-28, Sunday of 2008's week 52", at(2008, 12, 28, 23, 59, 59), [2008, 12, 28, 23], [2008, 12, 28],
         [2008, 52]),
        ("2010-01-03, Sunday of 2009's week 53", at(2010, 1, 3, 5), [2010, 1, 3, 5], [2010, 1, 3], [2009, 53]),
        ("2020-12-31, Thursday of ISO week 53", at(2020, 12, 31, 23, 59, 59), [2020, 12, 31, 23], [2020, 12, 31],
         [2020, 53]),
        ("2021-01-01, Friday in 2020's week 53", at(2021, 1, 1), [2021, 1, 1, 0], [2021, 1, 1], [2020, 53]),
        ("2021-01-04, Monday of week 1", at(2021, 1, 4), [2021, 1, 4, 0], [2021, 1, 4], [2021, 1]),
        ("2024-02-29, leap day", at(2024, 2, 29, 13, 30), [2024, 2, 29, 13], [2024, 2, 29], [2024, 9]),
        ("2024-03-01", at(2024, 3, 1), [2024, 3, 1, 0], [2024, 3, 1], [2024, 9]),
        ("2024-12-30, Monday of 2025's week 1", at(2024, 12, 30), [2024, 12, 30, 0], [2024, 12, 30], [2025, 1]),
        ("2026-11-01T00:30Z, the retention test's start", 1_793_493_000, [2026, 11, 1, 0], [2026, 11, 1],
         [2026, 44]),
        ("2026-12-31, Thursday of ISO week 53", at(2026, 12, 31, 18), [2026, 12, 31, 18], [2026, 12, 31],
         [2026, 53]),
        ("2027-01-03, Sunday in 2026's week 53", at(2027, 1, 3, 23, 59, 59), [2027, 1, 3, 23], [2027, 1, 3],
         [2026, 53]),
        ("2038-01-19T03:14:08Z, past the 32-bit time_t", 2_147_483_648, [2038, 1, 19, 3], [2038, 1, 19],
         [2038, 3]),
        ("2100-02-28, no leap day in 2100", at(2100, 2, 28, 23, 59, 59), [2100, 2, 28, 23], [2100, 2, 28],
         [2100, 8]),
        ("2100-03-01", at(2100, 3, 1), [2100, 3, 1, 0], [2100, 3, 1], [2100, 9]),
    ]

    @Test func boundariesFallInTheBucketsCalendarGave() {
        for row in Self.boundaries {
            let expected = [row.hour, row.day, row.week]
            #expect(Self.ownKeys(row.seconds) == expected, "\(row.label)")
            #expect(Self.calendarKeys(row.seconds) == expected, "\(row.label): the table disagrees with Calendar")
            for neighbour in [row.seconds - 1, row.seconds + 1] {
                #expect(Self.ownKeys(neighbour) == Self.calendarKeys(neighbour), "\(row.label), \(neighbour)")
            }
        }
    }

    /// Every day's first and last second from 1968 to 2101, and a time inside each hour of four years around
    /// today, against Calendar.
    @Test func everyDayFrom1968To2101MatchesCalendar() {
        var mismatches: [Int64] = []
        for day in CivilTime.days(fromCivil: 1968, 1, 1)..<CivilTime.days(fromCivil: 2102, 1, 1) {
            for seconds in [day * 86_400, day * 86_400 + 86_399]
            where Self.ownKeys(seconds) != Self.calendarKeys(seconds) {
                mismatches.append(seconds)
            }
        }
        for hour in Self.at(2024, 1, 1) / 3_600..<Self.at(2028, 1, 1) / 3_600 {
            let seconds = hour * 3_600 + 1_799
            if Self.ownKeys(seconds) != Self.calendarKeys(seconds) { mismatches.append(seconds) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    @Test func civilDaysRoundTrip() {
        for days in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let date = CivilTime.civil(fromDays: days)
            #expect(CivilTime.days(fromCivil: date.year, date.month, date.day) == days)
        }
        #expect(CivilTime(epochSeconds: 0).weekday == 4)
        #expect(CivilTime(epochSeconds: Self.at(2026, 11, 1)).weekday == 7)
    }

    @Test func unreadableSummariesSitAtDistantPast() {
        #expect(Double(RetentionPolicy.longAgo) == Date.distantPast.timeIntervalSince1970)
    }
}
