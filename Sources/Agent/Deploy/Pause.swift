import Platform

/// Sleeping the agent's one thread for a while (polling loops, retry pauses), through nanosleep and across
/// signals: what `Thread.sleep(forTimeInterval:)` did, without Foundation.
enum Pause {
    /// Sleeps for `seconds` (nothing for zero or less).
    static func seconds(_ seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
    }
}
