/// How long something takes inside one process, on the monotonic clock (`ContinuousClock`, stdlib), which does
/// not jump when the wall clock is set; ``Timestamp`` is for times that are recorded or sent.
extension ContinuousClock.Instant {
    /// Seconds from this instant until now.
    public var secondsElapsed: Double { (ContinuousClock.now - self).inSeconds }

    /// Seconds from now until this instant; negative once it has passed.
    public var secondsLeft: Double { (self - ContinuousClock.now).inSeconds }
}

extension Duration {
    /// The duration in seconds, fractions included.
    public var inSeconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
