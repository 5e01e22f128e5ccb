import CAgentSupport
import FoundationEssentials
import Platform

/// What a finished child process did.
struct ProcessOutcome: Sendable {
    /// The exit status, or nil when the process was ended by a signal.
    var status: Int32?
    /// The signal that ended it, if any.
    var signal: Int32?
    /// Whether it was killed because it ran past its timeout.
    var timedOut: Bool
    /// Everything it wrote to stdout (bounded by `ProcessRunner.captureLimit`).
    var stdout: String
    /// Everything it wrote to stderr (bounded likewise).
    var stderr: String

    /// True for a normal exit with status 0.
    var succeeded: Bool { status == 0 && !timedOut }

    /// A short phrase for messages: "exited with status 3", "was killed by signal 9", "timed out after 5s".
    func describe(timeout: Double) -> String {
        if timedOut { return "timed out after \(Int(timeout))s and was killed" }
        if let signal { return "was killed by signal \(signal)" }
        return "exited with status \(status ?? -1)"
    }
}

/// Error starting a child process.
struct ProcessLaunchError: Error, CustomStringConvertible {
    var executable: String
    var errno: Int32
    var description: String { "cannot run \(executable): \(String(cString: strerror(errno)))" }
}

/// Runs programs from argv arrays — never through a shell — with a hard timeout.
///
/// Each child gets its own process group, stdin from /dev/null, default signal dispositions, and pipes for
/// stdout and stderr that only it holds. When the child exits, output still buffered is drained for a short,
/// bounded time and the pipes are closed: a background grandchild that inherited them (the classic
/// `nohup bot &` in a restart script) can no longer hang the caller. On timeout the whole process group is
/// killed.
enum ProcessRunner {
    /// Output kept per stream; anything beyond is dropped (and streamed lines are still delivered).
    static let captureLimit = 1 << 20
    /// How long output is drained after the child exits.
    static let drainAfterExit = 0.25

    /// Runs `argv` in `cwd`, calling `onLine` for each complete output line as it arrives. The child's
    /// environment is ``ChildEnvironment/base(from:)`` with `environment` on top.
    ///
    /// - Throws: ``ProcessLaunchError`` when the program cannot be started.
    static func run(_ argv: [String], cwd: String? = nil, environment: [String: String] = [:], timeout: Double,
                    onLine: ((_ stream: String, _ line: String) -> Void)? = nil) throws -> ProcessOutcome {
        precondition(!argv.isEmpty, "argv must name a program")
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard shipkeep_pipe_cloexec(&outPipe) == 0 else { throw ProcessLaunchError(executable: argv[0], errno: errno) }
        guard shipkeep_pipe_cloexec(&errPipe) == 0 else {
            close(outPipe[0]); close(outPipe[1])
            throw ProcessLaunchError(executable: argv[0], errno: errno)
        }
        let pid: pid_t
        do {
            pid = try spawn(argv, cwd: cwd, environment: environment, stdout: outPipe[1], stderr: errPipe[1],
                            newSession: false)
        } catch {
            for fd in outPipe + errPipe { close(fd) }
            throw error
        }
        close(outPipe[1])
        close(errPipe[1])
        var collector = OutputCollector(fds: [outPipe[0], errPipe[0]], onLine: onLine)
        defer { collector.closeAll() }

        let deadline = Date().addingTimeInterval(timeout)
        var exitStatus: Int32?
        var timedOut = false
        var idleWait = 0.001
        while exitStatus == nil {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { exitStatus = status; break }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 {
                timedOut = true
                kill(-pid, SIGKILL)
                exitStatus = waitBlocking(pid)
                break
            }
            if collector.isOpen {
                // Wake at least every 50 ms to notice the exit of a child whose pipes a grandchild still holds.
                collector.pump(timeout: min(remaining, 0.05))
            } else {
                // Both pipes are at EOF, so there is nothing to poll and the exit is usually microseconds away:
                // a full 50 ms poll on no descriptors would be paid by every git call. Back off from 1 ms.
                usleep(useconds_t(min(remaining, idleWait) * 1_000_000))
                idleWait = min(idleWait * 2, 0.05)
            }
        }
        let drainDeadline = Date().addingTimeInterval(drainAfterExit)
        while collector.isOpen, drainDeadline.timeIntervalSinceNow > 0 {
            collector.pump(timeout: drainDeadline.timeIntervalSinceNow)
        }
        collector.flushPartialLines()
        let raw = exitStatus ?? 0
        let signaled = (raw & 0x7f) != 0 && (raw & 0x7f) != 0x7f
        return ProcessOutcome(status: signaled ? nil : (raw >> 8) & 0xff, signal: signaled ? raw & 0x7f : nil,
                              timedOut: timedOut, stdout: collector.text(0), stderr: collector.text(1))
    }

    private static func waitBlocking(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status
    }

    /// Starts `argv` in a new session (no controlling terminal, out of the SSH session's process group), with
    /// stdin from /dev/null and stdout and stderr on `output`, and returns its pid without waiting.
    ///
    /// - Throws: ``ProcessLaunchError``.
    static func spawnDetached(_ argv: [String], environment: [String: String] = [:], output: Int32) throws -> pid_t {
        try spawn(argv, cwd: nil, environment: environment, stdout: output, stderr: output, newSession: true)
    }

    private static func spawn(_ argv: [String], cwd: String?, environment: [String: String], stdout: Int32,
                              stderr: Int32, newSession: Bool) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // Nothing of the agent's (the SSH channel above all) may leak into a service that outlives it.
        shipkeep_spawn_addclosefrom(&actions, 3)
        if let cwd { shipkeep_spawn_addchdir(&actions, cwd) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGCHLD] { sigaddset(&defaults, signal) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        let group = newSession ? shipkeep_spawn_setsid_flag() : Int16(POSIX_SPAWN_SETPGROUP)
        posix_spawnattr_setflags(&attributes, group | Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        // Never the agent's whole environment: it holds what the SSH session chose (see ChildEnvironment).
        var env = ChildEnvironment.base()
        for (key, value) in environment { env[key] = value }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in cArgs + cEnv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        guard result == 0 else { throw ProcessLaunchError(executable: argv[0], errno: result) }
        return pid
    }
}

/// Reads a child's pipes without blocking, splitting output into lines for live streaming.
private struct OutputCollector {
    private var fds: [Int32]
    private var captured: [[UInt8]] = [[], []]
    private var partial: [[UInt8]] = [[], []]
    private let onLine: ((String, String) -> Void)?
    private static let names = ["stdout", "stderr"]

    init(fds: [Int32], onLine: ((String, String) -> Void)?) {
        self.fds = fds
        self.onLine = onLine
    }

    var isOpen: Bool { fds.contains { $0 >= 0 } }

    mutating func pump(timeout: Double) {
        var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let ready = poll(&polls, nfds_t(polls.count), Int32(max(0, timeout * 1000)))
        guard ready > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        for (index, entry) in polls.enumerated() where entry.fd >= 0 && entry.revents != 0 {
            let count = read(entry.fd, &buffer, buffer.count)
            if count > 0 {
                append(Array(buffer[0..<count]), stream: index)
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                close(entry.fd)
                fds[index] = -1
            }
        }
    }

    mutating func closeAll() {
        for (index, fd) in fds.enumerated() where fd >= 0 {
            close(fd)
            fds[index] = -1
        }
    }

    mutating func flushPartialLines() {
        for stream in 0..<2 where !partial[stream].isEmpty {
            onLine?(Self.names[stream], String(decoding: partial[stream], as: UTF8.self))
            partial[stream].removeAll()
        }
    }

    func text(_ stream: Int) -> String { String(decoding: captured[stream], as: UTF8.self) }

    private mutating func append(_ bytes: [UInt8], stream: Int) {
        if captured[stream].count < ProcessRunner.captureLimit {
            captured[stream].append(contentsOf: bytes.prefix(ProcessRunner.captureLimit - captured[stream].count))
        }
        guard let onLine else { return }
        partial[stream].append(contentsOf: bytes)
        while let newline = partial[stream].firstIndex(of: UInt8(ascii: "\n")) {
            onLine(Self.names[stream], String(decoding: partial[stream][..<newline], as: UTF8.self))
            partial[stream].removeSubrange(...newline)
        }
        if partial[stream].count > 64 * 1024 {
            onLine(Self.names[stream], String(decoding: partial[stream], as: UTF8.self))
            partial[stream].removeAll()
        }
    }
}
