/// The options one command was given, checked against its ``CommandSpec``: every required option is present,
/// nothing unknown or extra was typed.
struct ParsedOptions: Sendable {
    let spec: CommandSpec
    private var given: [String: [String]] = [:]
    private var flags: Set<String> = []

    /// Reads `arguments` (what follows the subcommand's name) as `spec` says.
    ///
    /// `--name value` and `--name=value` both work; a value cannot start with `-` unless it is joined with `=`
    /// (swift-argument-parser's rule: `--config --json` is a missing value, not a file named `--json`). `--`
    /// ends the options; the agent's commands take no positional arguments, so anything after it is extra.
    /// `--help`, `-h` and `--version` are answered before this is called (``AgentCommandLine``).
    ///
    /// - Throws: ``UsageError`` naming the first unknown option, missing value, extra argument or, after
    ///   that, the first required option not given.
    static func parse(_ spec: CommandSpec, _ arguments: ArraySlice<String>) throws(UsageError) -> ParsedOptions {
        var parsed = ParsedOptions(spec: spec)
        var rest = arguments
        var optionsEnded = false
        while let argument = rest.popFirst() {
            if !optionsEnded && argument == "--" {
                optionsEnded = true
                continue
            }
            guard !optionsEnded, argument.hasPrefix("-"), argument != "-" else {
                throw UsageError(spec, "unexpected argument '\(argument)'")
            }
            guard argument.hasPrefix("--") else { throw UsageError(spec, "unknown option '\(argument)'") }
            let body = argument.dropFirst(2)
            let equals = body.firstIndex(of: "=")
            let name = String(body[..<(equals ?? body.endIndex)])
            let joined = equals.map { String(body[body.index(after: $0)...]) }
            guard let option = spec.option(name) else { throw UsageError(spec, "unknown option '--\(name)'") }
            if option.kind == .flag {
                if joined != nil { throw UsageError(spec, "'--\(name)' takes no value") }
                parsed.flags.insert(name)
                continue
            }
            if let joined {
                parsed.given[name, default: []].append(joined)
            } else if let next = rest.first, next == "-" || !next.hasPrefix("-") {
                parsed.given[name, default: []].append(next)
                rest.removeFirst()
            } else {
                throw UsageError(spec, "missing value for '\(option.label)'")
            }
        }
        if let missing = spec.options.first(where: { $0.isRequired && parsed.given[$0.name] == nil }) {
            throw UsageError(spec, "missing the required option '\(missing.label)'")
        }
        return parsed
    }

    /// A single-value option's value: the last one given, else its default.
    ///
    /// Reading an option the spec does not declare (or declares as another kind) is a programming error.
    func value(_ name: String) -> String {
        guard case .single(let fallback) = spec.option(name)?.kind else {
            preconditionFailure("\(spec.name) has no single-value option --\(name)")
        }
        guard let value = given[name]?.last ?? fallback else {
            preconditionFailure("--\(name) is required, and parse checked it")
        }
        return value
    }

    /// A repeatable option's values, in the order given.
    func values(_ name: String) -> [String] {
        precondition(spec.option(name)?.kind == .repeated, "\(spec.name) has no repeatable option --\(name)")
        return given[name] ?? []
    }

    /// Whether a flag was given.
    func flag(_ name: String) -> Bool {
        precondition(spec.option(name)?.kind == .flag, "\(spec.name) has no flag --\(name)")
        return flags.contains(name)
    }
}
