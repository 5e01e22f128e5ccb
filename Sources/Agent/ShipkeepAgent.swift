import Platform
import Shared

/// `shipkeep-agent`: the half of shipkeep that runs on the VM.
@main
enum ShipkeepAgent {
    static let spec = CommandSpec(
        name: AgentCommandLine.toolName,
        abstract: "The shipkeep agent: deploys git apps on this VM without losing their data.",
        discussion: """
            It is run by sshd for the controller (`shipkeep`), never as a server of its own.
            Exit status, every command: 0 done; 1 failed or refused; 2 a protocol violation (serve); 4 locked \
            (snapshot); 64 a usage or configuration error (a bad flag, an unknown app, an agent.yml that cannot \
            be used).
            """
    )

    /// What `--version` and `version` print.
    static let version = "shipkeep-agent \(WireProtocol.toolVersion) (protocol v\(WireProtocol.version))"

    /// The subcommands, in the order help lists them.
    static var commands: [any AgentCommand.Type] {
        [ServeCommand.self, VersionCommand.self, CheckCommand.self, WorkerCommand.self, SnapshotBenchCommand.self,
         SnapshotCommand.self]
    }

    static func main() {
        exit(AgentCommandLine.run(Array(CommandLine.arguments.dropFirst())))
    }
}

/// `shipkeep-agent version`.
struct VersionCommand: AgentCommand {
    static let spec = CommandSpec(
        name: "version",
        abstract: "Print the agent's version and protocol version.",
        options: [.flag("json", help: "Print a JSON object instead of text.")]
    )

    var json: Bool

    init(_ options: ParsedOptions) {
        json = options.flag("json")
    }

    func run() {
        if json {
            print("{\"agentVersion\":\"\(WireProtocol.toolVersion)\",\"protocol\":\(WireProtocol.version)}")
        } else {
            print(ShipkeepAgent.version)
        }
    }
}
