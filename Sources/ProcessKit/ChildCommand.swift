/// A program to start: argv (never a shell), its whole environment, its directory, its process group and its
/// stdio. Every other descriptor of this process is closed in the child, its signal mask is empty and every
/// signal has its default disposition, whatever the starting thread blocked or ignored.
public struct ChildCommand: Sendable {
    /// The program (looked up in the `PATH` of ``environment`` unless it contains a `/`) and its arguments.
    public var argv: [String]
    /// The child's whole environment: nothing of this process's is added (see ``ProcessEnvironment/current()``).
    public var environment: [String: String]
    /// The child's working directory; this process's when nil.
    public var directory: String?
    /// The process group (or session) it starts in.
    public var group: ChildGroup
    /// Its stdin.
    public var stdin: ChildInput
    /// Its stdout.
    public var stdout: ChildOutput
    /// Its stderr.
    public var stderr: ChildOutput

    /// Describes a command; by default in this process's group, with stdin from /dev/null and output discarded.
    public init(_ argv: [String], environment: [String: String], directory: String? = nil,
                group: ChildGroup = .inherit, stdin: ChildInput = .null, stdout: ChildOutput = .null,
                stderr: ChildOutput = .null) {
        precondition(!argv.isEmpty, "argv must name a program")
        self.argv = argv
        self.environment = environment
        self.directory = directory
        self.group = group
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Where a child stands among process groups, which decides what a timeout or ``ChildProcess/terminate(grace:)``
/// signals.
public enum ChildGroup: Sendable, Equatable {
    /// This process's group: it gets the terminal's Ctrl-C and can read the terminal (a `git push` asking for a
    /// passphrase). Only the child itself is signalled.
    case inherit
    /// A new process group led by the child: the group, grandchildren included, is signalled.
    case newGroup
    /// A new session (no controlling terminal, out of the caller's group), for a process that outlives the
    /// caller's session; signalled as a group like ``newGroup``.
    case newSession
}

/// A child's stdin.
public enum ChildInput: Sendable {
    /// `/dev/null`: it reads end of file.
    case null
    /// This process's stdin.
    case inherit
    /// This descriptor (still the caller's to close).
    case descriptor(Int32)
    /// These bytes, from an anonymous file (a memfd), so no writer can block on a child that does not read.
    case bytes([UInt8])
}

/// A child's stdout or stderr.
public enum ChildOutput: Sendable {
    /// `/dev/null`.
    case null
    /// This process's own stdout or stderr (the same number).
    case inherit
    /// This descriptor (still the caller's to close).
    case descriptor(Int32)
    /// A file, created 0600 if missing, truncated or appended to.
    case file(String, append: Bool)
    /// A pipe this process reads: ``ChildCommand/run(timeout:grace:captureLimit:maxLineBytes:onLine:)`` captures
    /// it; ``ChildProcess/spawn(_:)`` hands the read end over in ``ChildProcess/stdoutPipe`` or
    /// ``ChildProcess/stderrPipe``.
    case capture
}
