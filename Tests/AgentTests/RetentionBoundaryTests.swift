import Foundation
import Testing
@testable import Agent
import Shared

/// Retention through ``RetentionPolicy/kept(_:)`` alone, whatever computes its buckets: two snapshots either side
/// of a boundary are both kept as the newest of two hours, days or ISO weeks exactly when Foundation's ISO 8601
/// calendar in UTC, which the agent used before it stopped linking Foundation, puts them in two.
@Suite(.timeLimit(.minutes(5))) struct RetentionBoundaryTests {
    enum Period: CaseIterable { case hour, day, week }

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The one line that knows how a candidate holds its time.
    static func candidate(_ id: String, _ seconds: Int64) -> RetentionPolicy.Candidate {
        .init(id: id, createdAt: Timestamp(timeIntervalSince1970: Double(seconds)), successful: true)
    }

    /// Whether the policy keeping two of `period` keeps both `older` and `newer` (two periods) or only `newer`.
    static func policySeparates(_ older: Int64, _ newer: Int64, by period: Period) -> Bool {
        let policy: RetentionPolicy
        switch period {
        case .hour: policy = RetentionPolicy(keep: 0, hourly: 2, keepFailed: 0)
        case .day: policy = RetentionPolicy(keep: 0, daily: 2, keepFailed: 0)
        case .week: policy = RetentionPolicy(keep: 0, weekly: 2, keepFailed: 0)
        }
        let kept = policy.kept([candidate("older", older), candidate("newer", newer)])
        return kept == ["older", "newer"]
    }

    static func calendarSeparates(_ older: Int64, _ newer: Int64, by period: Period) -> Bool {
        let units: Set<Calendar.Component> = switch period {
        case .hour: [.year, .month, .day, .hour]
        case .day: [.year, .month, .day]
        case .week: [.yearForWeekOfYear, .weekOfYear]
        }
        let a = calendar.dateComponents(units, from: Date(timeIntervalSince1970: Double(older)))
        let b = calendar.dateComponents(units, from: Date(timeIntervalSince1970: Double(newer)))
        return a != b
    }

    /// Seconds since the epoch of a UTC date and time, through Calendar.
    static func at(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0)
        -> Int64 {
        let parts = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        return Int64(calendar.date(from: parts)!.timeIntervalSince1970)
    }

    /// The first second of a new period, with which periods it begins: the epoch, Mondays that begin an ISO
    /// year (2005-01-03, 2008-12-29, 2021-01-04), New Years that do not (2005-01-01 is inside 2004's week 53),
    /// ISO weeks 53 (2020, 2026), leap days (2000 is a leap year, 2100 is not), the 32-bit time_t limit.
    static let boundaries: [(label: String, seconds: Int64, begins: Set<Period>)] = [
        ("the epoch, a Thursday", 0, [.hour, .day]),
        ("Monday 1969-12-29, week 1 of 1970", at(1969, 12, 29), [.hour, .day, .week]),
        ("2000-02-29", at(2000, 2, 29), [.hour, .day]),
        ("2000-03-01", at(2000, 3, 1), [.hour, .day]),
        ("Saturday 2005-01-01, still 2004's week 53", at(2005, 1, 1), [.hour, .day]),
        ("Monday 2005-01-03, week 1 of 2005", at(2005, 1, 3), [.hour, .day, .week]),
        ("Monday 2008-12-29, week 1 of 2009", at(2008, 12, 29), [.hour, .day, .week]),
        ("Friday 2021-01-01, still 2020's week 53", at(2021, 1, 1), [.hour, .day]),
        ("Monday 2021-01-04, week 1 of 2021", at(2021, 1, 4), [.hour, .day, .week]),
        ("2024-02-29", at(2024, 2, 29), [.hour, .day]),
        ("2026-11-01T01:00Z, an hour of the simulated month", at(2026, 11, 1, 1), [.hour]),
        ("Monday 2026-12-28, week 53 of 2026", at(2026, 12, 28), [.hour, .day, .week]),
        ("Friday 2027-01-01, still 2026's week 53", at(2027, 1, 1), [.hour, .day]),
        ("Monday 2027-01-04, week 1 of 2027", at(2027, 1, 4), [.hour, .day, .week]),
        ("2038-01-19T04:00Z, past the 32-bit time_t", at(2038, 1, 19, 4), [.hour]),
        ("Monday 2100-03-01, no 2100-02-29 before it", at(2100, 3, 1), [.hour, .day, .week]),
    ]

    @Test func boundariesSeparateWhatCalendarSeparated() {
        for row in Self.boundaries {
            for period in Period.allCases {
                let begins = row.begins.contains(period)
                #expect(Self.calendarSeparates(row.seconds - 1, row.seconds, by: period) == begins,
                        "\(row.label), \(period): the table disagrees with Calendar")
                #expect(Self.policySeparates(row.seconds - 1, row.seconds, by: period) == begins,
                        "\(row.label), \(period)")
                #expect(!Self.policySeparates(row.seconds, row.seconds + 1, by: period), "\(row.label), \(period)")
            }
        }
    }

    /// Every UTC midnight from 1968 to 2101, against Calendar: always a new hour and day, a new week on Mondays;
    /// and the day's first and last second share their day and week.
    @Test func everyMidnightFrom1968To2101() {
        let first = Self.at(1968, 1, 1), last = Self.at(2102, 1, 1)
        var mismatches: [String] = []
        for midnight in stride(from: first, to: last, by: 86_400) {
            for period in Period.allCases {
                if Self.policySeparates(midnight - 1, midnight, by: period)
                    != Self.calendarSeparates(midnight - 1, midnight, by: period) {
                    mismatches.append("\(midnight - 1)|\(midnight) \(period)")
                }
            }
            if Self.policySeparates(midnight, midnight + 86_399, by: .day)
                || Self.policySeparates(midnight, midnight + 86_399, by: .week) {
                mismatches.append("\(midnight) within its day")
            }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }
}
