import ProcessKit

/// How the agent runs programs (git, systemctl, journalctl, hooks, services, the deploy worker), through
/// ProcessKit: argv only, the environment from ``ChildEnvironment`` and nothing else of the agent's, no
/// descriptor of the agent's (the SSH channel above all), signals reset, stdin from /dev/null.
///
/// Each run child leads a process group of its own, so that a timeout ends what it started too (SIGTERM to the
/// group, SIGKILL ``grace`` later); a background grandchild that keeps the output open (`nohup bot &` in a
/// restart script) does not hang the agent, whose drain after the exit is bounded.
enum ProcessRunner {
    /// Output kept per stream; beyond it bytes are counted and dropped (streamed lines are still delivered).
    static let captureLimit = 1 << 20
    /// Between SIGTERM and SIGKILL when a child runs past its timeout.
    static let grace = Duration.seconds(2)

    /// Runs `argv` in `cwd` for at most `timeout` seconds, calling `onLine` with "stdout" or "stderr" and each
    /// output line as it arrives. The child's environment is ``ChildEnvironment/base(from:)`` with `environment`
    /// on top.
    ///
    /// - Throws: `SpawnError` when the program cannot be started.
    static func run(_ argv: [String], cwd: String? = nil, environment: [String: String] = [:], timeout: Double,
                    onLine: ((_ stream: String, _ line: String) -> Void)? = nil) throws(SpawnError) -> ChildResult {
        let command = ChildCommand(argv, environment: ChildEnvironment.base().merging(environment) { $1 },
                                   directory: cwd, group: .newGroup, stdout: .capture, stderr: .capture)
        return try command.run(timeout: .seconds(timeout), grace: grace, captureLimit: captureLimit,
                               onLine: onLine.map { deliver in { deliver($0.rawValue, $1) } })
    }

    /// Starts `argv` in a new session (no controlling terminal, out of the SSH session's process group), with
    /// stdout and stderr on `output`, and returns its pid without waiting (the caller reaps it).
    ///
    /// - Throws: `SpawnError`.
    static func spawnDetached(_ argv: [String], environment: [String: String] = [:],
                              output: Int32) throws(SpawnError) -> Int32 {
        let command = ChildCommand(argv, environment: ChildEnvironment.base().merging(environment) { $1 },
                                   group: .newSession, stdout: .descriptor(output), stderr: .descriptor(output))
        return try ChildProcess.spawn(command).pid
    }
}
