import Shared
import Platform

/// `shipkeep-agent snapshot`: a snapshot of one app now, for a systemd timer or cron. The same worker as
/// `shipkeep snapshot` (lock, snapshot phase, retention, history), run in this process.
struct SnapshotCommand: AgentCommand {
    static let spec = CommandSpec(
        name: "snapshot",
        abstract: "Take a snapshot of an app's data dirs now (no update, no restart), as a timer would.",
        discussion: """
            Takes the app's lock like a deploy, snapshots its data dirs, applies agent.yml's retention and records \
            the snapshot (origin "schedule") in the app's history. It refuses, as serve does, a config, state or \
            snapshot dir another user can write. Run it as the agent's user, e.g. from a systemd user timer:
              ExecStart=/usr/local/bin/shipkeep-agent snapshot --config /etc/shipkeep/agent.yml --app bots
            Exit status: 0 snapshot taken; 1 failed or refused (nothing changed); 4 the app is locked by a deploy \
            (try again later); 64 a usage or configuration error: a config that cannot be used (unreadable, \
            invalid, writable by another user) or an unknown app, said on stderr.
            """,
        options: [
            .option("config", valueName: "FILE", default: "/etc/shipkeep/agent.yml", help: "The agent configuration."),
            .option("app", valueName: "NAME", help: "The app from agent.yml to snapshot."),
            .flag("json", help: "Print the snapshot's events as JSON Lines; the last line is the result."),
        ]
    )

    var config: String
    var app: String
    var json: Bool

    init(_ options: ParsedOptions) {
        config = options.value("config")
        app = options.value("app")
        json = options.flag("json")
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let agentConfig: AgentConfig
        do {
            agentConfig = try AgentConfig.load(file: config)
            // As serve: files another user can write could make the agent run or overwrite anything it can.
            try PermissionCheck.check(agentConfig)
        } catch {
            StandardStreams.diagnose("shipkeep-agent: \(error)")
            throw ExitCode(ServeCommand.exitConfigError)
        }
        guard let app = agentConfig.app(app) else {
            let known = agentConfig.apps.map(\.name).joined(separator: ", ")
            StandardStreams.diagnose("shipkeep-agent: no app named \"\(app)\" in \(config) (configured: \(known))")
            throw ExitCode(ServeCommand.exitConfigError)
        }
        if let record = Recovery.runIfNeeded(app), let message = record.message {
            StandardStreams.diagnose("recovered \(app.name): \(message)")
        }
        let deploy = DeployPlan.newID()
        let worker = try DeployWorker(app: app, deploy: deploy,
                                      request: Command.Deploy(app: app.name, controller: Self.who),
                                      action: .snapshot, origin: "schedule")
        _ = worker.run()
        let events = Journal.read(StateDirectory(path: app.state).journal(deploy))
        for message in events { report(message) }
        let result = events.compactMap { message -> Event.Result? in
            if case .result(let result) = message.event { result } else { nil }
        }.last
        guard let result else { throw ExitCode(1) }
        if result.ok { return }
        throw ExitCode(result.error?.code == .locked ? 4 : 1)
    }

    /// Who the history says asked: the timer, as this user on this host.
    private static var who: String {
        let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
        return "schedule (\(user)@\(HostName.current))"
    }

    private func report(_ message: EventMessage) {
        if json {
            _ = StandardStreams.writeLine(WireCodec.encode(message))
            return
        }
        switch message.event {
        case .phase(let phase) where phase.state != .started:
            print("\(phase.name): \(phase.state)" + (phase.detail.map { " — \($0)" } ?? ""))
        case .warning(let warning):
            print("warning: \(warning.message)")
        case .log(let log):
            print(log.line)
        case .result(let result):
            if let snapshot = result.deploy?.snapshot, result.ok {
                print("snapshot \(snapshot.id) of \(app) taken")
            } else if let error = result.error {
                StandardStreams.diagnose("shipkeep-agent: snapshot of \(app) failed: \(error.message)")
            }
        default:
            break
        }
    }
}
