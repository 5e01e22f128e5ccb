import ArgumentParser
import Foundation
import Shared

/// Runs one request against the agent with the rendering every VM-changing command shares: human lines or
/// JSON Lines (`--json`), a closing result, and an exit status from ``DeployExit``.
struct AgentRequest {
    let options: TargetOptions
    let json: Bool

    /// How a command is exchanged with the agent: by default one request; `deploy --ship` sends more.
    typealias Exchange = (AgentConnection, Command, (EventMessage) throws(ControllerError) -> Void)
        throws(ControllerError) -> Event.Result

    /// Connects, sends the command built from the resolved target, renders its events, and exits.
    ///
    /// - Throws: `ExitCode` always (0 on success), so the caller just returns.
    /// - Parameter stop: Asked while the agent is silent; true closes its input (ends a followed `logs`).
    /// - Parameter summarize: Whether a human gets the closing summary line on stdout (`logs` keeps stdout for the
    ///   lines it shows; its error still goes to stderr).
    /// - Parameter after: Called with the result before the closing summary, for human output only (a table's
    ///   "nothing yet" line).
    func run(_ makeCommand: (ResolvedTarget) throws(ControllerError) -> Command, stop: () -> Bool = { false },
             summarize: Bool = true,
             human: (DeployRenderer, EventMessage) -> Void = { $0.render($1) },
             after: (Event.Result) -> Void = { _ in },
             exchange: Exchange? = nil) throws -> Never {
        var targetName = options.target ?? options.host ?? "?"
        var started: String?
        let actions = GitHubActions.detect()
        do {
            let resolved = try options.resolve()
            targetName = resolved.display
            let command = try makeCommand(resolved)
            let follow = { (deploy: String) in options.commandLine("attach", ["--deploy", deploy]) }
            let terminal = Terminal.detect()
            let renderer = DeployRenderer(terminal: terminal, target: resolved.display, verbose: options.verbose,
                                          quiet: options.quiet, follow: follow)
            let connection = try AgentConnection(resolved, verbose: options.verbose)
            defer { connection.close() }
            let notice = InterruptNotice(command: command, options: options, target: resolved.display, json: json,
                                         terminal: terminal)
            notice.arm(deploy: nil)
            let onEvent: (EventMessage) -> Void = { message in
                if case .started(let event) = message.event {
                    started = event.deploy
                    notice.arm(deploy: event.deploy)
                }
                if json { JSONLines.emit(message) } else { human(renderer, message) }
            }
            let result = if let exchange {
                try exchange(connection, command, onEvent)
            } else {
                try connection.session.request(command, stop: stop, onEvent: onEvent)
            }
            Interrupts.onInterrupt(nil)
            let code = DeployExit.code(for: result)
            if json {
                JSONLines.emit(.init(ok: result.ok, exitCode: code, target: resolved.display, error: result.error,
                                     deploy: result.deploy))
            } else {
                after(result)
                if summarize { renderer.summary(result) }
            }
            actions?.record(result, exitCode: code, target: resolved.display, phases: renderer.phases)
            // In GitHub Actions the renderer's `::error::` annotation already said it.
            if !result.ok, let error = result.error, json || actions == nil {
                Terminal.error("shipkeep: \(error.message)")
            }
            if result.error?.code == .locked {
                // The agent cannot know how the target was named here: the exact command comes from this side.
                Terminal.error("shipkeep: follow the running deploy with `\(options.commandLine("attach"))`")
            }
            connection.close()
            throw ExitCode(code)
        } catch let error as ControllerError {
            // A failure after the deploy started is the link's, not the deploy's: it goes on on the VM.
            let follow = started.map { options.commandLine("attach", ["--deploy", $0]) }
            let message = error.message + (started.map { deploy in
                "; deploy \(deploy) goes on on the VM: follow it with `\(follow ?? "")`"
            } ?? "")
            let failure = Event.Result(ok: false, error: WireError(code: error.wireCode, message: message))
            actions?.record(failure, exitCode: error.exitCode, target: targetName, phases: [])
            FailureLine.print(message, json: json, actions: actions)
            if json {
                JSONLines.emit(.init(ok: false, exitCode: error.exitCode, target: targetName,
                                     error: WireError(code: error.wireCode, message: message), attach: follow))
            }
            throw ExitCode(error.exitCode)
        }
    }

    /// The app from `--app`/`SHIPKEEP_APP`, required by every command that changes something.
    static func requireApp(_ target: ResolvedTarget) throws(ControllerError) -> String {
        let names = SettingNames()
        guard let app = target.app, !app.isEmpty else {
            throw ControllerError(.usage, "name the app: \(names.name(.app))"
                + (names.inAction ? ", or app: in shipkeep.yml" : "") + " (as in the agent's agent.yml)")
        }
        // agent.yml accepts no other names, so any other is refused here, before connecting.
        guard AppConfig.isValidName(app) else {
            throw ControllerError(.usage, "the app name cannot be in any agent.yml: name one that uses letters, digits, "
                + "'.', '_' and '-' and starts with a letter or digit (\(names.name(.app)), or app: in shipkeep.yml)")
        }
        return app
    }
}
