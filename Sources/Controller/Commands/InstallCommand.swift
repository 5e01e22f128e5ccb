import ArgumentParser
import Foundation
import Shared

/// `shipkeep install`: puts the agent (and, when missing, its agent.yml) on the VM over SFTP, checks it answers,
/// and prints the authorized_keys line that restricts a deploy key to it.
struct InstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Upload shipkeep-agent (and agent.yml) and add the deploy key's forced-command line to authorized_keys.",
        discussion: """
            Log in with an account key that may use SFTP (not the deploy key: a forced-command key cannot). The \
            agent is uploaded to a temporary name, synced, and renamed over the old one, so a running agent or a \
            cancelled upload never leaves a half-written program. An existing agent.yml on the VM is kept, unless \
            --replace: then the new one is uploaded beside it, checked by the new agent (`shipkeep-agent check`), \
            the old one copied to agent.yml.TIMESTAMP.bak, and the new one renamed into place; one the agent \
            refuses changes nothing. With --deploy-key, the key's forced-command line is put into the login \
            user's ~/.ssh/authorized_keys (or --authorized-keys FILE): added once, other lines kept, the file \
            rewritten atomically with mode 0600 (and ~/.ssh made 0700 if missing). \
            The agent is found with --agent-binary, SHIPKEEP_AGENT_BINARY, or next to this shipkeep; \
            `make release` builds one with the Swift runtime linked statically, so the VM needs no Swift. When \
            agent.yml names system-scope systemd units and you are not root, it also prints the sudoers rule that \
            lets the agent restart exactly those.

            With --snapshot-timer, it also installs a systemd timer per app (shipkeep-snapshot-APP.timer and its \
            oneshot .service) that runs `shipkeep-agent snapshot --config FILE --app APP` as the login user on \
            --snapshot-calendar (default hourly), for every app of the VM's agent.yml or only --app NAME's: user \
            units in ~/.config/systemd/user enabled with `systemctl --user enable --now` (system units in \
            /etc/systemd/system when the login user is root). A second install keeps files that are the same and \
            rewrites (and restarts) those that differ. When the user's manager does not linger, it prints the \
            root-side `loginctl enable-linger USER` line. --remove-snapshot-timer stops, disables and removes them.

            Examples:
              shipkeep install prod --agent-yml agent.yml --deploy-key ci_deploy.pub
              shipkeep install prod --agent-yml agent.yml --replace
              shipkeep install --host vm1 --user bots --identity ~/.ssh/id_ed25519
              shipkeep install prod --snapshot-timer --snapshot-calendar '*:0/30'
              shipkeep install prod --app bots --remove-snapshot-timer

            Exit status: 0 installed and answering; 1 nothing usable to upload, the new agent refused the new \
            agent.yml or does not answer, or the deploy key is in authorized_keys without a forced command, or the \
            system manager refused the snapshot timers; 3 the VM could not be reached or refused SFTP; 64 a usage \
            error (a flag, a deploy key that is not a public key, a calendar the VM's systemd refuses, an app \
            agent.yml does not name).
            """
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .customLong("agent-binary"), help: ArgumentHelp(
        "The shipkeep-agent to upload (default: next to this shipkeep). [env: SHIPKEEP_AGENT_BINARY]",
        valueName: "file"))
    var agentBinary: String?

    @Option(name: .customLong("agent-yml"), help: ArgumentHelp(
        "The agent.yml to put on the VM if it has none, or with --replace instead of its own (default ./agent.yml "
            + "if present).", valueName: "file"))
    var agentYML: String?

    @Option(name: .customLong("remote-path"), help: ArgumentHelp(
        "Where the agent goes on the VM (default ~/.local/bin/shipkeep-agent).", valueName: "path"))
    var remotePath: String?

    @Option(name: .customLong("remote-config"), help: ArgumentHelp(
        "Where agent.yml goes on the VM (default ~/.config/shipkeep/agent.yml).", valueName: "path"))
    var remoteConfig: String?

    @Option(name: .customLong("deploy-key"), help: ArgumentHelp(
        "The deploy key's public key file: its forced-command line is added to the VM's authorized_keys (once).",
        valueName: "file.pub"))
    var deployKey: String?

    @Option(name: .customLong("authorized-keys"), help: ArgumentHelp(
        "The authorized_keys file on the VM the deploy key's line goes into (default ~/.ssh/authorized_keys).",
        valueName: "path"))
    var authorizedKeys: String?

    @Flag(name: .long, help: ArgumentHelp(
        "Replace the VM's agent.yml with --agent-yml FILE once the new agent has checked it; the old one is kept as "
            + "agent.yml.TIMESTAMP.bak."))
    var replace = false

    @Flag(name: .customLong("snapshot-timer"), help: ArgumentHelp(
        "Install a systemd timer that runs `shipkeep-agent snapshot` for each app of agent.yml (or --app NAME's) "
            + "as the login user; idempotent."))
    var snapshotTimer = false

    @Option(name: .customLong("snapshot-calendar"), help: ArgumentHelp(
        "When the snapshot timer fires: a systemd OnCalendar value (see `man systemd.time`), e.g. hourly, daily, "
            + "'*:0/15'.", valueName: "calendar"))
    var snapshotCalendar = "hourly"

    @Flag(name: .customLong("remove-snapshot-timer"), help: ArgumentHelp(
        "Stop, disable and remove the snapshot timers install wrote, of each app of agent.yml (or --app NAME's)."))
    var removeSnapshotTimer = false

    @Flag(name: .long, help: "One JSON result line on stdout instead of text.")
    var json = false

    func validate() throws {
        if replace && agentYML == nil {
            throw ValidationError("--replace goes with --agent-yml FILE: name the new one")
        }
        if snapshotTimer && removeSnapshotTimer {
            throw ValidationError("--snapshot-timer and --remove-snapshot-timer exclude each other: name one")
        }
    }

    /// The timer request of the flags; the app is `--app` (or the target's), else every app of agent.yml.
    private func timerRequest(app: String?) -> SnapshotTimerRequest? {
        let app = app.flatMap { $0.isEmpty ? nil : $0 }
        if snapshotTimer { return .install(calendar: snapshotCalendar, app: app) }
        return removeSnapshotTimer ? .remove(app: app) : nil
    }

    func run() throws {
        let plan: InstallPlan
        do {
            let resolved = try target.resolve()
            plan = try InstallPlan(
                target: resolved,
                agentBinary: try InstallPlan.locateAgent(agentBinary ?? target.environment["SHIPKEEP_AGENT_BINARY"]),
                localConfig: try InstallPlan.localConfig(agentYML),
                deployKey: try deployKey.map(InstallPlan.readPublicKey),
                remotePath: remotePath, remoteConfig: remoteConfig, authorizedKeys: authorizedKeys,
                replaceConfig: replace, snapshotTimer: timerRequest(app: resolved.app))
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
