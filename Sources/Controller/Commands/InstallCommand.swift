import ArgumentParser
import Foundation
import Shared

/// `shipkeep install`: puts the agent (and, when missing, its agent.yml) on the VM over SFTP, checks it answers,
/// and prints the authorized_keys line that restricts a deploy key to it.
struct InstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Upload shipkeep-agent (and agent.yml if the VM has none) and print the deploy key's authorized_keys line.",
        discussion: """
            Log in with an account key that may use SFTP (not the deploy key: a forced-command key cannot). The \
            agent is uploaded to a temporary name, synced, and renamed over the old one, so a running agent or a \
            cancelled upload never leaves a half-written program. An existing agent.yml on the VM is never \
            overwritten. The agent is found with --agent-binary, SHIPKEEP_AGENT_BINARY, or next to this shipkeep; \
            `make release` builds one with the Swift runtime linked statically, so the VM needs no Swift. When \
            agent.yml names system-scope systemd units and you are not root, it also prints the sudoers rule that \
            lets the agent restart exactly those.

            Examples:
              shipkeep install prod --agent-yml agent.yml --deploy-key ci_deploy.pub
              shipkeep install --host vm1 --user bots --identity ~/.ssh/id_ed25519

            Exit status: 0 installed and answering; 1 nothing usable to upload or the new agent does not \
            answer; 3 the VM could not be reached or refused SFTP; 64 a usage error (a flag, a deploy key that is not \
            a public key).
            """
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .customLong("agent-binary"), help: ArgumentHelp(
        "The shipkeep-agent to upload (default: next to this shipkeep). [env: SHIPKEEP_AGENT_BINARY]",
        valueName: "file"))
    var agentBinary: String?

    @Option(name: .customLong("agent-yml"), help: ArgumentHelp(
        "The agent.yml to put on the VM if it has none (default ./agent.yml if present).", valueName: "file"))
    var agentYML: String?

    @Option(name: .customLong("remote-path"), help: ArgumentHelp(
        "Where the agent goes on the VM (default ~/.local/bin/shipkeep-agent).", valueName: "path"))
    var remotePath: String?

    @Option(name: .customLong("remote-config"), help: ArgumentHelp(
        "Where agent.yml goes on the VM (default ~/.config/shipkeep/agent.yml).", valueName: "path"))
    var remoteConfig: String?

    @Option(name: .customLong("deploy-key"), help: ArgumentHelp(
        "The deploy key's public key file, to print its complete authorized_keys line.", valueName: "file.pub"))
    var deployKey: String?

    @Flag(name: .long, help: "One JSON result line on stdout instead of text.")
    var json = false

    func run() throws {
        let plan: InstallPlan
        do {
            let resolved = try target.resolve()
            plan = try InstallPlan(
                target: resolved,
                agentBinary: try InstallPlan.locateAgent(agentBinary ?? target.environment["SHIPKEEP_AGENT_BINARY"]),
                localConfig: try InstallPlan.localConfig(agentYML),
                deployKey: try deployKey.map(InstallPlan.readPublicKey),
                remotePath: remotePath, remoteConfig: remoteConfig)
        } catch {
            try fail(error)
        }
        let installer = Installer(plan: plan, terminal: .detect(), quiet: json || target.quiet,
                                  verbose: target.verbose)
        do {
            let outcome = try installer.run()
            if json {
                JSONLines.emitInstall(ok: true, target: plan.target.display, outcome: outcome, error: nil)
            } else {
                print(outcome.report)
            }
        } catch {
            try fail(error)
        }
    }

    private func fail(_ error: ControllerError) throws -> Never {
        Terminal.error("shipkeep: \(error.message)")
        if json { JSONLines.emitInstall(ok: false, target: target.target ?? target.host ?? "?", outcome: nil, error: error) }
        throw ExitCode(error.exitCode)
    }
}
