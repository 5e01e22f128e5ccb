/// A UTC time of day and date, from seconds since the epoch, in the proleptic Gregorian calendar: the hour, day and
/// ISO 8601 week that retention buckets snapshots by (``RetentionPolicy``), computed with integer arithmetic
/// (Howard Hinnant's days-from-civil algorithms) instead of Foundation's `Calendar`, which the agent does not link.
struct CivilTime: Equatable {
    var year: Int
    /// 1 (January) to 12.
    var month: Int
    /// 1 to 31.
    var day: Int
    /// 0 to 23.
    var hour: Int
    /// The ISO 8601 week-numbering year: the year of the week's Thursday, which differs from ``year`` for the
    /// first days of January and the last days of December.
    var weekYear: Int
    /// The ISO 8601 week, 1 to 53: weeks begin on Monday, and week 1 is the one holding the year's first Thursday.
    var week: Int
    /// 1 (Monday) to 7 (Sunday), as ISO 8601 numbers them.
    var weekday: Int

    /// The UTC time `seconds` after 1970-01-01T00:00:00Z (before it, when negative).
    init(epochSeconds seconds: Int64) {
        let days = Self.floorDivide(seconds, 86_400)
        let date = Self.civil(fromDays: days)
        year = date.year
        month = date.month
        day = date.day
        hour = Int((seconds - days * 86_400) / 3_600)
        // 1970-01-01 was a Thursday (4).
        weekday = Int(Self.floorModulo(days + 3, 7)) + 1
        let thursday = days - Int64(weekday - 1) + 3
        weekYear = Self.civil(fromDays: thursday).year
        week = Int((thursday - Self.days(fromCivil: weekYear, 1, 1)) / 7) + 1
    }

    /// The days from 1970-01-01 to `year-month-day` (negative before it).
    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * Int64(month > 2 ? month - 3 : month + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01.
    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    private static func floorModulo(_ value: Int64, _ divisor: Int64) -> Int64 {
        value - floorDivide(value, divisor) * divisor
    }
}
