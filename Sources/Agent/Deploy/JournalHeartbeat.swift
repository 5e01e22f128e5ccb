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
    /// A pipe whose write end `stop()` closes: the thread naps in `poll` on the read end, so it wakes at once
    /// (the worker's result waits for this thread to end). Both -1 when no pipe could be made (it then naps).
    private let wake: (read: Int32, write: Int32)

    init(journal: Journal, id: String, interval: Double = JournalFollower.heartbeatInterval) {
        self.journal = journal
        self.id = id
        self.interval = interval
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            // Not inherited by the hooks and services the worker starts.
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            wake = (fds[0], fds[1])
        } else {
            wake = (-1, -1)
        }
    }

    deinit {
        if wake.read >= 0 { close(wake.read) }
        if wake.write >= 0 { close(wake.write) }
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
        if wake.write >= 0 {
            var byte: UInt8 = 1
            _ = Platform.write(wake.write, &byte, 1)
        }
        if let handle = thread.withLock({ value -> pthread_t? in defer { value = nil }; return value }) {
            pthread_join(handle, nil)
        }
    }

    private func run() {
        while !stopped.withLock({ $0 }) {
            journal.beatIfQuiet(after: interval, id: id)
            // Naps until the next beat is due, or until stop() writes to the pipe.
            let nap = min(1, max(0.01, journal.secondsUntilBeat(interval: interval)))
            if wake.read >= 0 {
                var fd = pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)
                _ = poll(&fd, 1, Int32(nap * 1000))
            } else {
                usleep(useconds_t(min(nap, 0.1) * 1_000_000))
            }
        }
    }
}
