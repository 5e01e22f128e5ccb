/// What one `shipkeep-agent` command accepts, written once: the parser (``ParsedOptions/parse(_:_:)``) and the
/// help text (``HelpText``) both read it, so `--help` cannot drift from what is parsed.
///
/// Every option is long (`--name`), as they all were under swift-argument-parser; `-h` is the only short one.
struct CommandSpec: Sendable {
    /// The subcommand's name as typed (`serve`), or the tool's name for the root.
    var name: String
    /// One line for the OVERVIEW and the tool's list of subcommands.
    var abstract: String
    /// Paragraphs after the overview (exit statuses, an example); explicit newlines are kept.
    var discussion = ""
    /// Left out of the tool's list of subcommands (`worker`, `snapshot-bench`); it still parses and has `--help`.
    var hidden = false
    /// The options, in the order help lists them.
    var options: [OptionSpec] = []

    /// The option named `name` (without dashes), if the command has it.
    func option(_ name: String) -> OptionSpec? {
        options.first { $0.name == name }
    }
}

/// One `--name` a command accepts.
struct OptionSpec: Sendable {
    /// How the option takes its value.
    enum Kind: Sendable, Equatable {
        /// `--json`: present or not, no value.
        case flag
        /// `--config FILE`: one value; given twice, the last wins (as swift-argument-parser did). Without a
        /// default it must be given.
        case single(default: String?)
        /// `--data DIR`, repeatable; at least one must be given.
        case repeated
    }

    /// The long name without its dashes.
    var name: String
    var kind: Kind
    /// What help shows in angle brackets after the name (`<FILE>`); unused for flags.
    var valueName: String
    /// One sentence for `--help`.
    var help: String

    /// A flag, off unless given.
    static func flag(_ name: String, help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .flag, valueName: "", help: help)
    }

    /// An option with one value; required when `default` is nil.
    static func option(_ name: String, valueName: String, default value: String? = nil,
                       help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .single(default: value), valueName: valueName, help: help)
    }

    /// An option given once or more, each time with one value.
    static func repeated(_ name: String, valueName: String, help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .repeated, valueName: valueName, help: help)
    }

    /// Whether the command cannot run without it.
    var isRequired: Bool {
        kind == .repeated || kind == .single(default: nil)
    }

    /// `--config <FILE>`, `--data <dir> ...`, `--json`: how help and errors name it.
    var label: String {
        switch kind {
        case .flag: "--\(name)"
        case .single: "--\(name) <\(valueName)>"
        case .repeated: "--\(name) <\(valueName)> ..."
        }
    }
}
