import ArgumentParser
import Shared

/// `shipkeep snapshot`: a snapshot of an app's data dirs now, without a deploy or a restart.
struct SnapshotNowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Take a snapshot of an app's data dirs now: no update, no restart.",
        discussion: """
            The agent takes the app's lock (a running deploy makes it exit 4), snapshots the data dirs as a \
            deploy's snapshot phase does, applies agent.yml's retention and records it in the app's history \
            (`shipkeep snapshots` shows it as "manual"). For a schedule on the VM, see `shipkeep-agent snapshot`.

            \(DeployExit.help)
            """
    )

    @OptionGroup var target: TargetOptions

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func run() throws {
        try AgentRequest(options: target, json: json).run { resolved throws(ControllerError) in
            .snapshot(app: try AgentRequest.requireApp(resolved))
        }
    }
}
