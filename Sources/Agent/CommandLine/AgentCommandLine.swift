/// `shipkeep-agent`'s command line, read with the standard library alone (swift-argument-parser imports
/// FoundationEssentials, which alone is 7 MB of the static agent).
///
/// It keeps the command line swift-argument-parser gave the agent: the subcommands of ``ShipkeepAgent``, long
/// options as `--name value` or `--name=value`, `--` ending the options, `--help`/`-h` (and `--help-hidden`,
/// `help [subcommand]`) anywhere before `--` winning over every error, `--version` on every command, and
/// `shipkeep-agent` alone printing its help. What changed: a usage error is one line on stderr (``UsageError``),
/// still exit 64.
enum AgentCommandLine {
    /// The executable's name, as help and errors spell it.
    static let toolName = "shipkeep-agent"

    /// What a command line asks for.
    enum Action {
        /// Print this help on stdout and exit 0.
        case help(String)
        /// Print ``ShipkeepAgent/version`` on stdout and exit 0.
        case version
        /// Run this command.
        case run(any AgentCommand)
    }

    /// Parses `arguments` (without the program's name).
    ///
    /// - Throws: ``UsageError`` for an unknown command or option, a missing value or option, an extra argument.
    static func parse(_ arguments: [String]) throws(UsageError) -> Action {
        let root = ShipkeepAgent.spec
        let commands = ShipkeepAgent.commands
        func command(_ name: String?) -> (any AgentCommand.Type)? {
            name.flatMap { name in commands.first { $0.spec.name == name } }
        }
        if arguments.first == "help" {
            // `help [subcommand]`, as swift-argument-parser's own help command: an unknown name is the tool's help.
            let rest = arguments.dropFirst()
            if let option = rest.first(where: { $0.hasPrefix("-") && !isHelp($0) && $0 != "--help-hidden" }) {
                throw UsageError(command: nil, "unknown option '\(option)'")
            }
            return .help(HelpText.render(command(rest.first { !$0.hasPrefix("-") })?.spec ?? root))
        }
        let named = command(arguments.first)
        let rest = named == nil ? arguments[...] : arguments.dropFirst()
        let flagged = rest.prefix { $0 != "--" }
        // `--help-hidden` too: swift-argument-parser had it, and it showed what `--help` shows (no option is
        // hidden, and a hidden command is left out of both).
        if flagged.contains(where: isHelp) || flagged.contains("--help-hidden") {
            return .help(HelpText.render(named?.spec ?? root))
        }
        if flagged.contains("--version") { return .version }
        guard let named else {
            guard let first = arguments.first else { return .help(HelpText.render(root)) }
            if !first.hasPrefix("-") { throw UsageError(command: nil, "unknown command '\(first)'") }
            _ = try ParsedOptions.parse(root, rest)
            return .help(HelpText.render(root))
        }
        return .run(named.init(try ParsedOptions.parse(named.spec, rest)))
    }

    /// `-h`, `--help`, or `-` and letters among which `h` (swift-argument-parser splits `-help` into short
    /// flags, `-h` among them).
    private static func isHelp(_ argument: String) -> Bool {
        argument == "--help" || (argument.hasPrefix("-") && !argument.hasPrefix("--") && argument.contains("h"))
    }

    /// Parses `arguments` and does what they ask.
    ///
    /// - Returns: The exit status: the command's, 0 for help and version, 64 for a usage error, 1 when the
    ///   command failed with an error it did not turn into a status (said on stderr).
    static func run(_ arguments: [String]) -> Int32 {
        do {
            switch try parse(arguments) {
            case .help(let text):
                print(text)
            case .version:
                print(ShipkeepAgent.version)
            case .run(let command):
                try command.run()
            }
            return 0
        } catch let exit as ExitCode {
            return exit.status
        } catch let usage as UsageError {
            StandardStreams.diagnose(usage.description)
            return UsageError.exitStatus
        } catch {
            StandardStreams.diagnose("\(error)")
            return 1
        }
    }
}
