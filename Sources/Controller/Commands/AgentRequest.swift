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
    func run(_ makeCommand: (ResolvedTarget) throws(ControllerError) -> Command,
             human: (DeployRenderer, EventMessage) -> Void = { $0.render($1) }) throws -> Never {
        var targetName = options.target ?? options.host ?? "?"
        let actions = GitHubActions.detect()
        do {
            let resolved = try options.resolve()
            targetName = resolved.display
            let command = try makeCommand(resolved)
            let renderer = DeployRenderer(terminal: .detect(), target: resolved.display, verbose: options.verbose,
                                          quiet: options.quiet)
            let connection = try AgentConnection(resolved, verbose: options.verbose)
            defer { connection.close() }
            let result = try connection.session.request(command) { message in
                if json { JSONLines.emit(message) } else { human(renderer, message) }
            }
            let code = DeployExit.code(for: result)
            if json {
                JSONLines.emit(.init(ok: result.ok, exitCode: code, target: resolved.display, error: result.error,
                                     deploy: result.deploy))
            } else {
                renderer.summary(result)
            }
            actions?.record(result, exitCode: code, target: resolved.display, phases: renderer.phases)
            // In GitHub Actions the renderer's `::error::` annotation already said it.
            if !result.ok, let error = result.error, json || actions == nil {
                Terminal.error("shipkeep: \(error.message)")
            }
            connection.close()
            throw ExitCode(code)
        } catch let error as ControllerError {
            let failure = Event.Result(ok: false, error: WireError(code: error.wireCode, message: error.message))
            actions?.record(failure, exitCode: error.exitCode, target: targetName, phases: [])
            FailureLine.print(error.message, json: json, actions: actions)
            if json {
                JSONLines.emit(.init(ok: false, exitCode: error.exitCode, target: targetName,
                                     error: WireError(code: error.wireCode, message: error.message)))
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
