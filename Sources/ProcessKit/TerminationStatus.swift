/// How a child process ended: the one reading of a `waitpid` status in the project.
public enum TerminationStatus: Hashable, Sendable, CustomStringConvertible {
    /// It called `exit` (or returned from `main`) with this code, 0 to 255.
    case exited(Int32)
    /// A signal ended it (`SIGKILL` is 9).
    case signalled(Int32)

    /// Decodes a status from `waitpid(2)` (`WIFEXITED`, `WEXITSTATUS` and `WTERMSIG` are macros Swift cannot
    /// import). Stopped children are never waited for here (no `WUNTRACED`), so a status is one or the other.
    public init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    /// The exit code, or nil when a signal ended it.
    public var exitCode: Int32? {
        if case .exited(let code) = self { code } else { nil }
    }

    /// The signal that ended it, or nil for a normal exit.
    public var signal: Int32? {
        if case .signalled(let signal) = self { signal } else { nil }
    }

    /// Whether it exited with code 0.
    public var isSuccess: Bool { self == .exited(0) }

    /// The status as a shell reports it: the exit code, or 128 + the signal.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let code): code
        case .signalled(let signal): 128 + signal
        }
    }

    /// "exited with status 3" or "was killed by signal 9", for messages.
    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signalled(let signal): "was killed by signal \(signal)"
        }
    }
}
