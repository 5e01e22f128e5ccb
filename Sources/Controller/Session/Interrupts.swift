import Foundation
import Synchronization
import Platform

/// SIGINT, SIGTERM and SIGHUP (Ctrl-C, a cancelled CI job, a closed terminal) end shipkeep with 128 + the signal
/// — 130, 143, 129 — after it wrote, flushed, what the user needs to know then: for a deploy, that it goes on on
/// the VM and the command that follows it.
///
/// No signal handler runs: the three signals are blocked in every thread (a thread inherits the mask of the one
/// that creates it, so ``install()`` runs first, before any other thread exists) and one thread of ours takes
/// them with `sigwait(3)`. It may then do anything a thread may, and the rest of the program is left mid-call
/// (a libssh2 read, a write) by `_exit`, which runs no atexit handler and no destructor that could take a lock
/// the interrupted thread holds.
enum Interrupts {
    /// What is printed when a signal arrives.
    struct Notice: Sendable {
        /// Written on stdout, after everything printed before it: the last line there.
        var stdout: String?
        /// Written on stderr.
        var stderr: String?

        /// Creates a notice.
        init(stdout: String? = nil, stderr: String? = nil) {
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// The signals taken here.
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// The notice for a signal (given to it), or nil to print nothing.
    private static let notice = Mutex<(@Sendable (Int32) -> Notice)?>(nil)

    /// What to undo before exiting, e.g. a partial download file; nil for nothing.
    private static let cleanup = Mutex<(@Sendable () -> Void)?>(nil)

    /// Whether the first signal only raises ``raised`` instead of ending the program (``absorbFirst()``).
    private static let absorbing = Atomic<Bool>(false)
    private static let raisedFlag = Atomic<Bool>(false)

    /// From now on the first signal does not end shipkeep: it raises ``raised``, which the command watches to end
    /// itself cleanly (`logs -f`: Ctrl-C closes the session and exits 0). A second signal ends it as usual.
    static func absorbFirst() {
        absorbing.store(true, ordering: .sequentiallyConsistent)
    }

    /// Whether a signal arrived while ``absorbFirst()`` was in force.
    static var raised: Bool { raisedFlag.load(ordering: .sequentiallyConsistent) }

    /// Sets what a signal undoes before anything is printed (nil: nothing), such as removing a partial file.
    static func beforeExit(_ action: (@Sendable () -> Void)?) {
        cleanup.withLock { $0 = action }
    }

    /// The exit status for `signal`, as a shell reports a process it killed.
    static func exitCode(for signal: Int32) -> Int32 { 128 + signal }

    /// `SIGINT` for 2, and so on for the signals ``Interrupts`` takes.
    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }

    /// Blocks the signals in this thread and starts the thread that waits for them. Call once, first thing.
    static func install() {
        var set = signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let thread = Thread { waitForSignals() }
        thread.name = "shipkeep-signals"
        thread.start()
    }

    /// Sets what a signal prints from now on (nil: nothing). Commands set it once they have something to say —
    /// a deploy as soon as its request is sent, again once the deploy id is known.
    static func onInterrupt(_ make: (@Sendable (Int32) -> Notice)?) {
        notice.withLock { $0 = make }
    }

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }

    private static func waitForSignals() -> Never {
        var set = signalSet()
        var signal: Int32 = 0
        while true {
            while sigwait(&set, &signal) != 0 {}
            guard absorbing.load(ordering: .sequentiallyConsistent),
                  !raisedFlag.exchange(true, ordering: .sequentiallyConsistent) else { break }
        }
        cleanup.withLock { $0?() }
        let make = notice.withLock { $0 }
        let said = make?(signal)
        LiveOutput.lastWords(stdout: said?.stdout, stderr: said?.stderr)
        _exit(exitCode(for: signal))
    }
}
