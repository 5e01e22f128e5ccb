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
            (`shipkeep snapshots` shows it as "manual"). For a schedule on the VM, `shipkeep install \
            --snapshot-timer` installs a systemd timer running `shipkeep-agent snapshot`.

            TARGET may be a group of shipkeep.yml: a snapshot on every member (--parallel at a time), a line per \
            host as it finishes, then a table; the exit status is the most serious host's (2, then 3, 4, 1); with \
            --json, one {"type":"host",…} line per host, then the result with every host in "hosts".

            \(DeployExit.help)
            """
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("For a group: snapshot this many hosts at a time (default 4).",
                                            valueName: "n"))
    var parallel = 4

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func validate() throws {
        if !(1...256).contains(parallel) { throw ValidationError("--parallel must be 1 to 256, got \(parallel)") }
    }

    func run() throws {
        if let members = try target.groupMembersForCommand() {
            try FleetCommand(options: target, members: members, json: json, parallel: parallel, verb: .snapshot) {
                resolved, _ throws(ControllerError) in .snapshot(app: try AgentRequest.requireApp(resolved))
            }.run()
        }
        try AgentRequest(options: target, json: json).run { resolved throws(ControllerError) in
            .snapshot(app: try AgentRequest.requireApp(resolved))
        }
    }
}
