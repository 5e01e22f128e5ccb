#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C (SIGINT) and SIGTERM as a flag a loop can look at, for commands that end cleanly when interrupted
/// (`logs -f`) instead of dying mid-line. The handler only stores to a `sig_atomic_t`, which is
/// async-signal-safe.
enum InterruptFlag {
    /// Set by the handler; read on the main thread only.
    nonisolated(unsafe) private static var raised: sig_atomic_t = 0

    /// Installs the handler for SIGINT and SIGTERM.
    static func install() {
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in InterruptFlag.raised = 1 }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
    }

    /// Whether a signal arrived since ``install()``.
    static var isRaised: Bool { raised != 0 }
}
