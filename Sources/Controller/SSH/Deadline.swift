/// A point in monotonic time by which a blocking step must finish.
///
/// Every wait in the SSH client is bounded by one of these, so a silent peer or a black-holed address can
/// delay the controller but never hang it.
struct Deadline {
    /// When the deadline passes.
    let instant: ContinuousClock.Instant
    /// The length of the budget it was created with, for messages ("within 10 s").
    let budget: Double

    /// A deadline `seconds` from now.
    /// - Parameter seconds: The budget; negative values behave like zero.
    init(seconds: Double) {
        let clamped = max(0, seconds)
        self.instant = .now + .nanoseconds(Int64(min(clamped, 1e9) * 1e9))
        self.budget = clamped
    }

    private init(instant: ContinuousClock.Instant, budget: Double) {
        self.instant = instant
        self.budget = budget
    }

    /// Whether the deadline is now or in the past.
    var hasPassed: Bool { ContinuousClock.now >= instant }

    /// Seconds left, never negative.
    var remaining: Double {
        let left = (instant - .now).components
        return max(0, Double(left.seconds) + Double(left.attoseconds) / 1e18)
    }

    /// The timeout argument for `poll(2)`: milliseconds left, rounded up so a poll never returns just
    /// before the deadline and causes a spin, and capped to fit an `Int32`.
    var pollMilliseconds: Int32 {
        Int32(min(remaining * 1000, Double(Int32.max)).rounded(.up))
    }

    /// The earlier of this deadline and `other`, keeping this deadline's budget for messages.
    /// - Parameter other: Another deadline.
    func earliest(_ other: Deadline) -> Deadline {
        Deadline(instant: min(instant, other.instant), budget: budget)
    }

    /// Formats a number of seconds for messages: "10 s", "2.5 s".
    /// - Parameter seconds: The duration.
    static func describe(_ seconds: Double) -> String {
        if seconds == seconds.rounded() {
            return "\(Int(seconds)) s"
        }
        return "\((seconds * 10).rounded() / 10) s"
    }
}
