import Shared
import Platform

/// `shipkeep-agent worker`: one deploy, started detached by `serve`. Not for people to run.
struct WorkerCommand: AgentCommand {
    static let spec = CommandSpec(
        name: "worker",
        abstract: "Run one deploy in the background (started by `serve`; not meant to be run by hand).",
        hidden: true,
        options: [
            .option("config", valueName: "config", help: "The agent configuration."),
            .option("app", valueName: "app", help: "The app."),
            .option("deploy", valueName: "deploy",
                    help: "The deploy id; its request is read from the app's state dir."),
            .option("action", valueName: "action", default: "deploy",
                    help: "What the app's history calls it: deploy, rollback or snapshot."),
        ]
    )

    var config: String
    var app: String
    var deploy: String
    var action: String

    init(_ options: ParsedOptions) {
        config = options.value("config")
        app = options.value("app")
        deploy = options.value("deploy")
        action = options.value("action")
    }

    func run() throws {
        // The SSH session may end at any moment; the deploy must not end with it.
        signal(SIGHUP, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let agentConfig = try AgentConfig.load(file: config)
        // The same check as `serve`'s: agent.yml names the commands this worker runs, and the state dir holds
        // the request it reads.
        try PermissionCheck.check(agentConfig)
        guard let app = agentConfig.app(app) else { throw UsageError(Self.spec, "no app \"\(app)\" in \(config)") }
        _ = try DeployID(validating: deploy)
        let payload = try DeployRequestFile.read(deploy: deploy, state: StateDirectory(path: app.state))
        let worker = try DeployWorker(app: app, deploy: deploy, request: payload,
                                      action: [.rollback, .snapshot].first { $0.rawValue == action } ?? .deploy)
        throw ExitCode(worker.run())
    }
}
