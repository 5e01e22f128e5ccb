/// `--help` for a ``CommandSpec``, laid out as swift-argument-parser laid it out (OVERVIEW, USAGE, OPTIONS,
/// SUBCOMMANDS, 80 columns, help at column 26), so the agent's help reads as the controller's does.
enum HelpText {
    /// The columns a wrapped line may fill: 79 of 80, as swift-argument-parser's help filled them when stdout
    /// is not a terminal.
    static let width = 79
    /// Where an option's or subcommand's help starts.
    static let labelColumn = 26

    /// The help for `spec`; for the tool itself (``ShipkeepAgent/spec``) with its visible subcommands.
    static func render(_ spec: CommandSpec) -> String {
        let tool = AgentCommandLine.toolName
        let isRoot = spec.name == tool
        var lines = wrap("OVERVIEW: \(spec.abstract)", indent: 0) + [""]
        if !spec.discussion.isEmpty {
            for line in spec.discussion.split(separator: "\n", omittingEmptySubsequences: false) {
                // An indented line is an example to copy (a command, an authorized_keys line): never broken.
                lines += line.hasPrefix(" ") ? [String(line)] : wrap(String(line), indent: 0)
            }
            lines.append("")
        }
        lines.append("USAGE: " + usage(spec))
        lines += ["", "OPTIONS:"]
        for option in spec.options {
            let fallback = if case .single(let value?) = option.kind { " (default: \(value))" } else { "" }
            let label = option.kind == .flag ? option.label : "--\(option.name) <\(option.valueName)>"
            lines += element(label, option.help + fallback)
        }
        lines += element("--version", "Show the version.") + element("-h, --help", "Show help information.")
        if isRoot {
            lines += ["", "SUBCOMMANDS:"]
            for command in ShipkeepAgent.commands where !command.spec.hidden {
                lines += element(command.spec.name, command.spec.abstract)
            }
            lines += ["", "  See '\(tool) help <subcommand>' for detailed help."]
        } else {
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    /// `shipkeep-agent snapshot [--config <FILE>] --app <NAME> [--json]`.
    static func usage(_ spec: CommandSpec) -> String {
        let tool = AgentCommandLine.toolName
        guard spec.name != tool else { return "\(tool) <subcommand>" }
        let options = spec.options.map { $0.isRequired ? $0.label : "[\($0.label)]" }
        return ([tool, spec.name] + options).joined(separator: " ")
    }

    /// `label` at column 2 and `help` from ``labelColumn`` on (on the next line when the label reaches it).
    private static func element(_ label: String, _ help: String) -> [String] {
        let padded = "  " + label
        let wrapped = wrap(help, indent: labelColumn)
        guard padded.count < labelColumn, let first = wrapped.first else { return [padded] + wrapped }
        let spaces = String(repeating: " ", count: labelColumn - padded.count)
        return [padded + spaces + first.dropFirst(labelColumn)] + wrapped.dropFirst()
    }

    /// `text` broken at spaces into lines of at most ``width`` columns, each starting with `indent` spaces; a
    /// word longer than a line stands alone.
    static func wrap(_ text: String, indent: Int) -> [String] {
        let margin = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && indent + line.count + 1 + word.count > width {
                lines.append(margin + line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        return lines + [margin + line]
    }
}
