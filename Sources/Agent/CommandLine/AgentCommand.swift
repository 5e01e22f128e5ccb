/// One `shipkeep-agent` subcommand: what it accepts (``spec``), how it reads the parsed options, and what it
/// does.
protocol AgentCommand {
    /// Its name, abstract, discussion and options.
    static var spec: CommandSpec { get }

    /// Takes the values out of options already checked against ``spec``.
    init(_ options: ParsedOptions)

    /// Does the work.
    ///
    /// - Throws: ``ExitCode`` to end with a given status (after saying why on stderr), ``UsageError`` for a
    ///   usage or configuration problem found while running (exit 64); anything else is reported on stderr
    ///   and ends the agent with 1.
    func run() throws
}

extension AgentCommand {
    /// The command as `arguments` (what follows its name) ask for it, without running it.
    ///
    /// - Throws: ``UsageError`` when they do not fit ``spec``.
    static func parse(_ arguments: [String]) throws(UsageError) -> Self {
        Self(try ParsedOptions.parse(spec, arguments[...]))
    }
}

/// Ends `shipkeep-agent` with `status`; thrown by a command that has already said on stderr what happened.
struct ExitCode: Error, Equatable {
    /// The process's exit status.
    var status: Int32

    init(_ status: Int32) {
        self.status = status
    }
}

/// A command line the agent cannot run: printed as one line that names the problem and the help to read, and
/// the agent exits 64 (EX_USAGE), the status of every usage and configuration error.
struct UsageError: Error, Equatable, CustomStringConvertible {
    /// The exit status of a usage error.
    static let exitStatus: Int32 = 64

    /// The subcommand whose `--help` to point at; nil for the tool itself.
    var command: String?
    /// What is wrong, e.g. `unknown option '--bogus'`.
    var message: String

    init(command: String?, _ message: String) {
        self.command = command
        self.message = message
    }

    /// A problem with `spec`'s command line (the root's spec points at the tool's help).
    init(_ spec: CommandSpec, _ message: String) {
        self.init(command: spec.name == AgentCommandLine.toolName ? nil : spec.name, message)
    }

    var description: String {
        "\(message); see `\(AgentCommandLine.toolName)\(command.map { " " + $0 } ?? "") --help`"
    }
}
