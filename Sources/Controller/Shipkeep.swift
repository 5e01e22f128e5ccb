import ArgumentParser
import Shared

/// `shipkeep`: deploys git apps to long-running VMs over SSH without losing their data.
@main
struct Shipkeep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shipkeep",
        abstract: "Deploy git apps to long-running VMs over SSH without losing their data.",
        discussion: """
            shipkeep connects with SSH (host keys always verified), runs shipkeep-agent on the VM and speaks \
            its JSON protocol. Settings come from flags, SHIPKEEP_* environment variables, shipkeep.yml and \
            ~/.ssh/config, in that order.

            Exit status, every command: 0 done; 1 failed safely (refused, rolled back); 2 needs attention; \
            3 the VM could not be asked (and only then); 4 locked or superseded; 64 a usage or configuration \
            error; 130/143 interrupted. `status` uses 0-3 as OK, WARNING, CRITICAL, UNKNOWN, and 64 too.

            Shell completions: shipkeep --generate-completion-script bash|zsh|fish
            """,
        version: "shipkeep \(WireProtocol.toolVersion) (protocol v\(WireProtocol.version))",
        subcommands: [StatusCommand.self, DeployCommand.self, RollbackCommand.self, AttachCommand.self,
                      SnapshotsCommand.self, SnapshotNowCommand.self, RestoreCommand.self, DownloadCommand.self,
                      UnlockCommand.self,
                      InitCommand.self, InstallCommand.self, EnvCommand.self, HistoryCommand.self, LogsCommand.self,
                      RestartCommand.self, StopCommand.self, StartCommand.self, BackupsCommand.self]
    )

    /// Before any command runs: stdout flushed line by line wherever it goes (``LiveOutput``), and SIGINT,
    /// SIGTERM and SIGHUP taken by a thread of their own (``Interrupts``).
    static func main() {
        LiveOutput.start()
        Interrupts.install()
        main(nil)
    }
}
