import CAgentSupport
import Platform

/// A started child: reaped with `waitpid`, signalled alone or with its process group.
///
/// Not an owner: dropping it neither kills nor reaps the child (a detached deploy worker outlives its handle).
/// Not `Sendable`: one thread waits for a child.
public final class ChildProcess {
    /// The child's process id (and its group's id unless it started in ``ChildGroup/inherit``).
    public let pid: pid_t
    /// The group it started in.
    public let group: ChildGroup
    /// The read end of its stdout pipe (``ChildOutput/capture``), close-on-exec; the caller closes it.
    public let stdoutPipe: Int32?
    /// The read end of its stderr pipe, likewise.
    public let stderrPipe: Int32?
    private var status: TerminationStatus?

    private init(pid: pid_t, group: ChildGroup, stdoutPipe: Int32?, stderrPipe: Int32?) {
        self.pid = pid
        self.group = group
        self.stdoutPipe = stdoutPipe
        self.stderrPipe = stderrPipe
    }

    /// Starts `command` and returns at once.
    ///
    /// - Throws: ``SpawnError`` when the program is not found or cannot be started (a missing ``ChildCommand/
    ///   directory`` included), or a stdio descriptor cannot be made.
    public static func spawn(_ command: ChildCommand) throws(SpawnError) -> ChildProcess {
        let program = command.argv[0]
        let executable = try locate(program, path: command.environment["PATH"])
        var stdio = Stdio(program: program)
        defer { stdio.closeParentCopies() }
        let input: Int32?, output: Int32?, errors: Int32?
        do {
            input = try stdio.input(command.stdin)
            output = try stdio.output(command.stdout, number: 1)
            errors = try stdio.output(command.stderr, number: 2)
        } catch {
            stdio.closeReadEnds()
            throw error
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // In order 0, 1, 2: a stderr given as descriptor 1 is the child's new stdout.
        for (source, target) in [(input, 0), (output, 1), (errors, 2)] {
            if let source { posix_spawn_file_actions_adddup2(&actions, source, Int32(target)) }
        }
        // Nothing else of this process (an SSH channel, a lock, a pipe another thread made) reaches the child.
        shipkeep_spawn_addclosefrom(&actions, 3)
        if let directory = command.directory { shipkeep_spawn_addchdir(&actions, directory) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The caller's mask (shipkeep blocks SIGINT/SIGTERM/SIGHUP for its sigwait thread) and its ignored signals
        // (SIGPIPE) would be inherited through exec: a child deaf to Ctrl-C, or one that never dies of a closed pipe.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        switch command.group {
        case .inherit: break
        case .newGroup:
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= Int16(POSIX_SPAWN_SETPGROUP)
        case .newSession: flags |= shipkeep_spawn_setsid_flag()
        }
        posix_spawnattr_setflags(&attributes, flags)

        let arguments = command.argv.map { strdup($0) } + [nil]
        let variables = command.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in arguments + variables { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, arguments, variables)
        guard result == 0 else {
            stdio.closeReadEnds()
            let detail = command.directory.map { "\(String(cString: strerror(result))) (in \($0))" }
            throw SpawnError(program: program, errno: result, detail: detail)
        }
        return ChildProcess(pid: pid, group: command.group, stdoutPipe: stdio.readEnds[1], stderrPipe: stdio.readEnds[2])
    }

    /// Reaps the child if it has ended, without waiting; nil while it runs. Idempotent once it has ended.
    public func poll() -> TerminationStatus? {
        if let status { return status }
        var raw: Int32 = 0
        let reaped = waitpid(pid, &raw, WNOHANG)
        if reaped == pid { status = TerminationStatus(waitStatus: raw) }
        return status
    }

    /// Waits for the child to end and reaps it. Idempotent. `signalled(0)` when it was reaped elsewhere (a
    /// `waitpid(-1)` of someone else's), so how it ended is not known.
    @discardableResult
    public func wait() -> TerminationStatus {
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) == -1 {
            // ECHILD: someone else reaped it; nothing is known of how it ended.
            guard errno == EINTR else { return .signalled(0) }
        }
        let ended = TerminationStatus(waitStatus: raw)
        status = ended
        return ended
    }

    /// Whether the child has ended, without reaping it (its pid and group id stay reserved until ``wait()``).
    public var hasExited: Bool {
        status != nil || shipkeep_has_exited(pid) != 0
    }

    /// Sends `signal` to the child's group, or to the child alone when it shares this process's group.
    public func signal(_ signal: Int32) {
        guard status == nil else { return }
        kill(group == .inherit ? pid : -pid, signal)
    }

    /// Ends the child: SIGTERM, up to `grace` for it to exit, then SIGKILL; with its own group, the whole group
    /// gets both signals (SIGKILL even when the child exited by then: grandchildren that ignored SIGTERM die
    /// too). Reaps it. `waiting` is called with the time left while it may still exit, and must return within
    /// it (it may read the child's pipes); when nil, this sleeps a little.
    @discardableResult
    public func terminate(grace: Duration, waiting: ((Duration) -> Void)? = nil) -> TerminationStatus {
        if let status { return status }
        signal(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while !hasExited {
            let left = deadline - .now
            if left <= .zero { break }
            if let waiting { waiting(left) } else { Self.nap(min(left, .milliseconds(10))) }
        }
        // The child is not reaped yet, so its pid still names its group and no stranger can have it.
        if group != .inherit || !hasExited { kill(group == .inherit ? pid : -pid, SIGKILL) }
        return wait()
    }

    /// Sleeps for `duration` (rounded to microseconds).
    static func nap(_ duration: Duration) {
        let micro = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        if micro > 0 { usleep(useconds_t(min(micro, 1_000_000))) }
    }

    /// The file `posix_spawn` runs for `program`: itself when it has a `/`, else the first executable regular file
    /// of that name in `path` (the child's `PATH`, not this process's).
    private static func locate(_ program: String, path: String?) throws(SpawnError) -> String {
        if program.contains("/") { return program }
        let search = path ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in search.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + program
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        throw SpawnError(program: program, errno: ENOENT, detail: "not found in PATH (\(search))")
    }
}

/// The descriptors one spawn makes for a child's stdio, closed in this process once the child has its copies.
private struct Stdio {
    let program: String
    /// Opened here and closed after the spawn (the child's ends).
    private var opened: [Int32] = []
    /// Pipe read ends by stdio number, handed to the caller.
    private(set) var readEnds: [Int32?] = [nil, nil, nil]

    init(program: String) {
        self.program = program
    }

    /// The descriptor to install as stdin, or nil to leave this process's.
    mutating func input(_ input: ChildInput) throws(SpawnError) -> Int32? {
        switch input {
        case .null: return try open("/dev/null", O_RDONLY)
        case .inherit: return nil
        case .descriptor(let fd): return fd
        case .bytes(let bytes):
            let fd = shipkeep_memfd("stdin")
            guard fd >= 0 else { throw SpawnError(program: program, errno: errno, detail: "memfd_create failed") }
            opened.append(fd)
            var written = 0
            while written < bytes.count {
                let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { throw SpawnError(program: program, errno: errno, detail: "cannot write its stdin") }
                written += count
            }
            lseek(fd, 0, SEEK_SET)
            return fd
        }
    }

    /// The descriptor to install as stdout (`number` 1) or stderr (2), or nil to leave this process's.
    mutating func output(_ output: ChildOutput, number: Int) throws(SpawnError) -> Int32? {
        switch output {
        case .null: return try open("/dev/null", O_WRONLY)
        case .inherit: return nil
        case .descriptor(let fd): return fd
        case .file(let path, let append): return try open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC))
        case .capture:
            var ends: [Int32] = [-1, -1]
            guard shipkeep_pipe_cloexec(&ends) == 0 else {
                throw SpawnError(program: program, errno: errno, detail: "cannot make a pipe")
            }
            readEnds[number] = ends[0]
            opened.append(ends[1])
            return ends[1]
        }
    }

    private mutating func open(_ path: String, _ flags: Int32) throws(SpawnError) -> Int32 {
        let fd = Platform.open(path, flags | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SpawnError(program: program, errno: errno, detail: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        opened.append(fd)
        return fd
    }

    /// Closes what was opened for the child (its copies live on in it).
    mutating func closeParentCopies() {
        for fd in opened { close(fd) }
        opened = []
    }

    /// Closes the pipes' read ends: the spawn failed, nobody will read them.
    mutating func closeReadEnds() {
        for case let fd? in readEnds { close(fd) }
        readEnds = [nil, nil, nil]
    }
}
