import ArgumentParser
import Foundation
import Shared

/// Runs one request against the agent with the rendering every VM-changing command shares: human lines or
/// JSON Lines (`--json`), a closing result, and an exit status from ``DeployExit``.
struct AgentRequest {
    let options: TargetOptions
    let json: Bool

    /// Connects, sends the command built from the resolved target, renders its events, and exits.
    ///
    /// - Throws: `ExitCode` always (0 on success), so the caller just returns.
    /// - Parameter stop: Asked while the agent is silent; true closes its input (ends a followed `logs`).
    /// - Parameter summarize: Whether a human gets the closing summary line on stdout (`logs` keeps stdout for the
    ///   lines it shows; its error still goes to stderr).
    func run(_ makeCommand: (ResolvedTarget) throws(ControllerError) -> Command, stop: () -> Bool = { false },
             summarize: Bool = true,
             human: (DeployRenderer, EventMessage) -> Void = { $0.render($1) }) throws -> Never {
        var targetName = options.target ?? options.host ?? "?"
        do {
            let resolved = try options.resolve()
            targetName = resolved.display
            let command = try makeCommand(resolved)
            let renderer = DeployRenderer(terminal: .detect(), target: resolved.display, verbose: options.verbose,
                                          quiet: options.quiet)
            let connection = try AgentConnection(resolved, verbose: options.verbose)
            defer { connection.close() }
            let result = try connection.session.request(command, stop: stop) { message in
                if json { JSONLines.emit(message) } else { human(renderer, message) }
            }
            let code = DeployExit.code(for: result)
            if json {
                JSONLines.emit(.init(ok: result.ok, exitCode: code, target: resolved.display, error: result.error,
                                     deploy: result.deploy))
            } else if summarize {
                renderer.summary(result)
            }
            if !result.ok, let error = result.error { Terminal.error("shipkeep: \(error.message)") }
            connection.close()
            throw ExitCode(code)
        } catch let error as ControllerError {
            if let actions = GitHubActions.detect() { print(actions.error(error.message)) }
            Terminal.error("shipkeep: \(error.message)")
            if json {
                JSONLines.emit(.init(ok: false, exitCode: error.exitCode, target: targetName,
                                     error: WireError(code: error.wireCode, message: error.message)))
            }
            throw ExitCode(error.exitCode)
        }
    }

    /// The app from `--app`/`SHIPKEEP_APP`, required by every command that changes something.
    static func requireApp(_ target: ResolvedTarget) throws(ControllerError) -> String {
        guard let app = target.app, !app.isEmpty else {
            throw ControllerError(.usage, "name the app: --app NAME or SHIPKEEP_APP (as in the agent's agent.yml)")
        }
        // agent.yml accepts no other names, so any other is refused here, before connecting.
        guard AppConfig.isValidName(app) else {
            throw ControllerError(.usage, "the app name cannot be in any agent.yml: name one that uses letters, digits, "
                + "'.', '_' and '-' and starts with a letter or digit (--app, SHIPKEEP_APP or app: in shipkeep.yml)")
        }
        return app
    }
}
