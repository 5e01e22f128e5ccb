import Platform
import Synchronization

/// The worker's own heartbeat: a thread that appends a `progress` event to the deploy's journal whenever it
/// has been quiet for ``JournalFollower/heartbeatInterval`` seconds, so the relay (which passes the journal
/// through unchanged) has something to send through a long silent hook, restart or lock wait.
///
/// A thread because the worker is synchronous: it blocks in a hook or `systemctl` for as long as they take.
/// The journal is locked, so the beats and the worker's own events keep one numbering.
final class JournalHeartbeat: Sendable {
    private let journal: Journal
    private let id: String
    private let interval: Double
    private let stopped = Mutex(false)
    private let thread = Mutex<pthread_t?>(nil)

    init(journal: Journal, id: String, interval: Double = JournalFollower.heartbeatInterval) {
        self.journal = journal
        self.id = id
        self.interval = interval
    }

    /// Starts the thread; without one (pthread_create failed) the deploy goes on with no heartbeat.
    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(&handle, nil, { context in
            Unmanaged<JournalHeartbeat>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        if status == 0 {
            thread.withLock { $0 = handle }
        } else {
            Unmanaged<JournalHeartbeat>.fromOpaque(context).release()
        }
    }

    /// Stops the beats and waits for the thread: none is appended after this returns.
    func stop() {
        stopped.withLock { $0 = true }
        if let handle = thread.withLock({ value -> pthread_t? in defer { value = nil }; return value }) {
            pthread_join(handle, nil)
        }
    }

    private func run() {
        while !stopped.withLock({ $0 }) {
            journal.beatIfQuiet(after: interval, id: id)
            // Short naps, so that stop() returns at once; the beat itself is due at most this late.
            let nap = min(0.1, max(0.01, journal.secondsUntilBeat(interval: interval)))
            usleep(useconds_t(nap * 1_000_000))
        }
    }
}
