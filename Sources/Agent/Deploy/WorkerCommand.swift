import ArgumentParser
import Shared
import Platform

/// `shipkeep-agent worker`: one deploy, started detached by `serve`. Not for people to run.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run one deploy in the background (started by `serve`; not meant to be run by hand).",
        shouldDisplay: false
    )

    @Option(help: "The agent configuration.") var config: String
    @Option(help: "The app.") var app: String
    @Option(help: "The deploy id; its request is read from the app's state dir.") var deploy: String
    @Option(help: "What the app's history calls it: deploy, rollback or snapshot.") var action: String = "deploy"

    func run() throws {
        // The SSH session may end at any moment; the deploy must not end with it.
        signal(SIGHUP, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let agentConfig = try AgentConfig.load(file: config)
        // The same check as `serve`'s: agent.yml names the commands this worker runs, and the state dir holds
        // the request it reads.
        try PermissionCheck.check(agentConfig)
        guard let app = agentConfig.app(app) else { throw ValidationError("no app \"\(app)\" in \(config)") }
        _ = try DeployID(validating: deploy)
        let payload = try DeployRequestFile.read(deploy: deploy, state: StateDirectory(path: app.state))
        let worker = try DeployWorker(app: app, deploy: deploy, request: payload,
                                      action: [.rollback, .snapshot].first { $0.rawValue == action } ?? .deploy)
        throw ExitCode(worker.run())
    }
}
