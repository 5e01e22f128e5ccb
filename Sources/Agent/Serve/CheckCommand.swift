import Platform
import Shared

/// `shipkeep-agent check --config FILE`: reads an agent.yml as `serve` would, and says whether it can be used,
/// without serving or recovering anything. `shipkeep install --agent-yml FILE --replace` runs it on the uploaded
/// file before moving it into place.
struct CheckCommand: AgentCommand {
    static let spec = CommandSpec(
        name: "check",
        abstract: "Check that an agent.yml parses and is safe to use (as `serve` reads it), and list its apps.",
        discussion: """
            Changes nothing. Exit status: 0 usable (the apps are printed); 64 it cannot be used: unreadable, \
            invalid (the line and key are named), or it or a state or snapshot dir is writable by another user.
            """,
        options: [.option("config", valueName: "FILE", default: "/etc/shipkeep/agent.yml",
                          help: "The agent configuration to check.")]
    )

    var config: String

    init(_ options: ParsedOptions) {
        config = options.value("config")
    }

    func run() throws {
        do {
            let agentConfig = try AgentConfig.load(file: config)
            try PermissionCheck.check(agentConfig)
            let apps = agentConfig.apps.map(\.name)
            print("\(config): OK; apps: \(apps.isEmpty ? "none" : apps.joined(separator: ", "))")
        } catch {
            StandardStreams.diagnose("\(error)")
            throw ExitCode(ServeCommand.exitConfigError)
        }
    }
}
