import ArgumentParser
import Shared

/// `shipkeep-agent`: the half of shipkeep that runs on the VM.
@main
struct ShipkeepAgent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shipkeep-agent",
        abstract: "The shipkeep agent: deploys git apps on this VM without losing their data.",
        discussion: """
            It is run by sshd for the controller (`shipkeep`), never as a server of its own.
            Exit status, every command: 0 done; 1 failed or refused; 2 a protocol violation (serve); 4 locked \
            (snapshot); 64 a usage or configuration error (a bad flag, an unknown app, an agent.yml that cannot \
            be used).
            """,
        version: "shipkeep-agent \(WireProtocol.toolVersion) (protocol v\(WireProtocol.version))",
        subcommands: [ServeCommand.self, VersionCommand.self, CheckCommand.self, WorkerCommand.self,
                      SnapshotBenchCommand.self, SnapshotCommand.self]
    )
}

/// `shipkeep-agent version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the agent's version and protocol version."
    )

    @Flag(name: .long, help: "Print a JSON object instead of text.")
    var json = false

    func run() {
        if json {
            print("{\"agentVersion\":\"\(WireProtocol.toolVersion)\",\"protocol\":\(WireProtocol.version)}")
        } else {
            print("shipkeep-agent \(WireProtocol.toolVersion) (protocol v\(WireProtocol.version))")
        }
    }
}
