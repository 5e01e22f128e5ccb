import Platform

/// A point in wall-clock time, in seconds since 1970-01-01T00:00:00Z: what the wire, the state files and the
/// history hold, with the standard library alone (Foundation's `Date` would bring FoundationEssentials into the
/// agent). Its spelling in JSON is one ISO 8601 string, whole seconds in UTC (`2026-11-25T10:15:00Z`), as
/// `JSONEncoder`'s `.iso8601` strategy wrote a `Date`; reading also takes fractional seconds and `±hh:mm`
/// offsets (restic's `2026-12-01T17:00:00.123456789+01:00`). Dates are proleptic Gregorian (Foundation's calendar
/// switches to Julian before 1582; no time the agent records is that old).
///
/// For how long something took inside one process, measure with `ContinuousClock`: wall time can jump.
public struct Timestamp: Hashable, Comparable, Sendable {
    /// Seconds since 1970-01-01T00:00:00Z, fractions included.
    public var timeIntervalSince1970: Double

    /// The time `seconds` after the epoch.
    public init(timeIntervalSince1970 seconds: Double) {
        timeIntervalSince1970 = seconds
    }

    /// Now, by the system's real-time clock.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(timeIntervalSince1970: Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9)
    }

    /// Earlier than any time the agent records (the epoch's year 1), for "never".
    public static let distantPast = Timestamp(timeIntervalSince1970: -62_135_596_800)

    /// Seconds from `other` to this time (negative when `other` is later).
    public func timeIntervalSince(_ other: Timestamp) -> Double {
        timeIntervalSince1970 - other.timeIntervalSince1970
    }

    /// Seconds from now to this time (negative when it is past).
    public var timeIntervalSinceNow: Double { timeIntervalSince(.now()) }

    /// The time `seconds` later (earlier when negative).
    public func addingTimeInterval(_ seconds: Double) -> Timestamp {
        Timestamp(timeIntervalSince1970: timeIntervalSince1970 + seconds)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.timeIntervalSince1970 < rhs.timeIntervalSince1970
    }

    public static func + (lhs: Timestamp, rhs: Double) -> Timestamp { lhs.addingTimeInterval(rhs) }

    public static func - (lhs: Timestamp, rhs: Double) -> Timestamp { lhs.addingTimeInterval(-rhs) }

    public static func - (lhs: Timestamp, rhs: Timestamp) -> Double { lhs.timeIntervalSince(rhs) }
}

extension Timestamp {
    /// The UTC calendar fields of the whole second this time falls in (the fraction is dropped, towards the
    /// past, as `JSONEncoder` did).
    public struct Fields: Equatable, Sendable {
        public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    }

    /// This time's UTC calendar fields.
    public var utc: Fields {
        let whole = Int64(timeIntervalSince1970.rounded(.down))
        let days = whole >= 0 ? whole / 86_400 : (whole - 86_399) / 86_400
        let rest = Int(whole - days * 86_400)
        let (year, month, day) = Self.civil(days: days)
        return Fields(year: year, month: month, day: day, hour: rest / 3600, minute: rest / 60 % 60, second: rest % 60)
    }

    /// `2026-11-25T10:15:00Z`: ISO 8601 in UTC, whole seconds.
    public var iso8601: String {
        let parts = utc
        return Self.pad(parts.year, 4) + "-" + Self.pad(parts.month, 2) + "-" + Self.pad(parts.day, 2) + "T"
            + Self.pad(parts.hour, 2) + ":" + Self.pad(parts.minute, 2) + ":" + Self.pad(parts.second, 2) + "Z"
    }

    /// `20261125T101500Z`: UTC to the second, sortable as text (snapshot and deploy ids).
    public static func compact(_ time: Timestamp) -> String {
        let parts = time.utc
        return pad(parts.year, 4) + pad(parts.month, 2) + pad(parts.day, 2) + "T" + pad(parts.hour, 2)
            + pad(parts.minute, 2) + pad(parts.second, 2) + "Z"
    }

    /// Reads ISO 8601 as `YYYY-MM-DDTHH:MM:SS`, an optional fraction (any number of digits), then `Z` or an
    /// offset `±HH:MM` (or `±HHMM`); nil for anything else or an impossible date.
    public init?(iso8601 text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += count
            return value
        }
        func expect(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              expect("T") || expect("t"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
              let second = number(2),
              (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { return nil }
        var fraction = 0.0
        if expect(".") || expect(",") {
            var scale = 0.1
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                fraction += Double(bytes[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        if expect("Z") || expect("z") {
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2), hours < 24 else { return nil }
            _ = expect(":")
            guard let minutes = number(2), minutes < 60 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = Self.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
        self.init(timeIntervalSince1970: Double(seconds) + fraction)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value < 0 ? -value : value)
        return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = Int64((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1)
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    private static func civil(days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        let year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}

extension Timestamp: Codable {
    /// Reads one ISO 8601 string (see ``init(iso8601:)``).
    ///
    /// - Throws: `DecodingError.typeMismatch` for a value that is not a string, `.dataCorrupted` for a string
    ///   that is not such a time.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let time = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorruptedError(in: container,
                                                   debugDescription: "not an ISO 8601 time (2026-11-25T10:15:00Z)")
        }
        self = time
    }

    /// Writes ``iso8601``.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }
}

extension Timestamp: CustomStringConvertible {
    /// ``iso8601``.
    public var description: String { iso8601 }
}
