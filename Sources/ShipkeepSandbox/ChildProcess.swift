import Foundation
import Platform

/// A child process started with `posix_spawn` and reaped with `waitpid`.
///
/// Foundation's `Process` is not used: it learns that a child exited when a socket the child inherited
/// closes, and daemons such as sshd close every inherited descriptor at startup. Foundation then blocks in
/// `waitpid` on the still-running daemon, on the one thread that notices exits, and never sees any other
/// child finish.
struct ChildProcess {
    /// The child's process id.
    let pid: pid_t

    /// Starts `argv` with the given descriptors as stdin, stdout and stderr.
    /// - Parameters:
    ///   - argv: The program (looked up in `PATH` unless it contains a `/`) and its arguments.
    ///   - cwd: The working directory; the current one if nil.
    ///   - environment: Variables added to (or replacing those in) the current environment.
    ///   - descriptors: The descriptors to install as 0, 1 and 2.
    /// - Throws: `SandboxError` if the program is not found or cannot be started.
    static func spawn(
        _ argv: [String],
        cwd: String?,
        environment: [String: String],
        descriptors: (Int32, Int32, Int32)
    ) throws -> ChildProcess {
        guard let program = argv.first else {
            throw SandboxError("a process needs at least a program name")
        }
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        var executable = try locate(program, searchPath: merged["PATH"])
        var argv = argv
        if let cwd {
            // posix_spawn_file_actions_addchdir_np is not visible to Swift; GNU env changes directory, then
            // execs the program, without a shell.
            argv = ["/usr/bin/env", "-C", cwd, "--", executable] + argv.dropFirst()
            executable = "/usr/bin/env"
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, descriptors.0, 0)
        posix_spawn_file_actions_adddup2(&actions, descriptors.1, 1)
        posix_spawn_file_actions_adddup2(&actions, descriptors.2, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The test runner's threads may block or ignore signals (SIGPIPE, SIGTERM); the child starts clean.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let arguments = argv.map { strdup($0) } + [nil]
        let variables = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in arguments + variables {
                free(pointer)
            }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, arguments, variables)
        guard result == 0 else {
            throw SandboxError("cannot start \(argv.joined(separator: " ")): \(String(cString: strerror(result)))")
        }
        return ChildProcess(pid: pid)
    }

    /// Waits for the child to exit.
    /// - Returns: The exit status, or 128 + the signal number, as shells report it.
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return -1 }
        }
        return Self.decode(status)
    }

    /// Reaps the child if it has exited, without waiting.
    /// - Returns: The status as `wait()` reports it, or nil while it still runs.
    func poll() -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 {
            return nil
        }
        return result == pid ? Self.decode(status) : -1
    }

    private static func decode(_ status: Int32) -> Int32 {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift cannot import.
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    private static func locate(_ program: String, searchPath: String?) throws -> String {
        if program.contains("/") {
            return program
        }
        for directory in (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        throw SandboxError("\(program) not found in PATH (\(searchPath ?? "unset")); install it")
    }
}

/// Opens `path` for the child's stdio, close-on-exec in this process so no other child inherits it.
/// - Parameters:
///   - path: The file.
///   - flags: `O_RDONLY`, or `O_WRONLY | O_CREAT | O_APPEND`…
/// - Returns: The descriptor.
/// - Throws: `SandboxError` if it cannot be opened.
func openForChild(_ path: String, _ flags: Int32) throws -> Int32 {
    let descriptor = open(path, flags | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
        throw SandboxError("cannot open \(path): \(String(cString: strerror(errno)))")
    }
    return descriptor
}
