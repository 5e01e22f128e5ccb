import ArgumentParser
import Foundation
import Shared

/// `shipkeep init`: writes a starter `shipkeep.yml` (for the repo) and `agent.yml` (for the VM) from flags.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a starter shipkeep.yml and agent.yml from flags (no prompts).",
        discussion: """
            shipkeep.yml names the target for the repo; agent.yml tells the agent on the VM what the app is: its \
            work tree, the data dirs a deploy must never touch, how to restart it and how to tell it is healthy. \
            Both are checked with the same parsers the tools use before they are written. Existing files are \
            kept unless --force. Next: commit shipkeep.yml, then `shipkeep install TARGET` puts the agent and \
            agent.yml on the VM.

            Examples:
              shipkeep init --host vm1 --user bots --app bots --path /srv/bots \\
                --data outputs --data logs --restart ./restart.sh \\
                --check ./check.sh --settle 5 \\
                --hook "pip install -r requirements.txt"
              shipkeep init --host 10.0.0.5 --app api --path /srv/api \\
                --systemd api.service --fingerprint SHA256:…

            Exit status: 0 written; 1 a file exists (use --force) or cannot be written; 64 a bad value.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The target's name in shipkeep.yml.", valueName: "name"))
    var target = "prod"

    @Option(name: .long, help: ArgumentHelp("The VM's host name or address.", valueName: "host"))
    var host: String

    @Option(name: .long, help: ArgumentHelp("The SSH port, if not 22.", valueName: "port"))
    var port: Int?

    @Option(name: .long, help: ArgumentHelp("The SSH user on the VM.", valueName: "user"))
    var user: String?

    @Option(name: .long, help: ArgumentHelp("The app's name (letters, digits, . _ -).", valueName: "name"))
    var app: String

    @Option(name: .long, help: ArgumentHelp("A private key file to log in with.", valueName: "file"))
    var identity: String?

    @Option(name: .customLong("known-hosts"), help: ArgumentHelp("A known_hosts file for the VM's host key.",
                                                                  valueName: "file"))
    var knownHosts: String?

    @Option(name: .long, help: ArgumentHelp("Pin the VM's host key instead (ssh-keygen -lf).", valueName: "SHA256:…"))
    var fingerprint: String?

    @Option(name: .long, help: ArgumentHelp("A bastion to reach the VM through.", valueName: "[user@]host[:port]"))
    var jump: String?

    @Option(name: .long, help: ArgumentHelp("The git work tree on the VM (absolute).", valueName: "path"))
    var path: String

    @Option(name: .long, help: ArgumentHelp("The git remote the VM fetches from.", valueName: "name"))
    var remote = "origin"

    @Option(name: .customLong("remote-url"), help: ArgumentHelp(
        "The repository's URL, from which the first deploy clones the app when --path does not exist on the VM "
            + "(default: the URL of --remote in the git clone this runs in; none to leave it out).",
        valueName: "url"))
    var remoteURL: String?

    @Option(name: .long, help: ArgumentHelp("The branch a plain `deploy` takes the tip of.", valueName: "name"))
    var branch = "main"

    @Option(name: .long, help: ArgumentHelp("A data dir, relative to --path (repeat for more).", valueName: "dir"))
    var data: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "The agent's state dir for this app: lock, journals, snapshots (default ~/.local/state/shipkeep/APP).",
        valueName: "dir"))
    var state: String?

    @Option(name: .long, help: ArgumentHelp("Snapshots to keep.", valueName: "n"))
    var keep = 5

    @Option(name: .long, help: ArgumentHelp(
        "A command run after each update, words split at spaces: --hook 'pip install -r requirements.txt'.",
        valueName: "command"))
    var hook: String?

    @Option(name: .long, help: ArgumentHelp("The app's restart command, words split at spaces.",
                                              valueName: "command"))
    var restart: String?

    @Option(name: .long, help: ArgumentHelp(
        "The command that exits 0 while the app runs, words split at spaces.", valueName: "command"))
    var check: String?

    @Option(name: .long, help: ArgumentHelp("A systemd unit to restart (repeat for more).", valueName: "unit"))
    var systemd: [String] = []

    @Option(name: .customLong("health-command"), help: ArgumentHelp(
        "A health check run after the restart, words split at spaces.", valueName: "command"))
    var healthCommand: String?

    @Option(name: .customLong("fresh-within"), help: ArgumentHelp(
        "Healthy only while the --fresh path was written after the restart, at most this many seconds ago "
            + "(default \(Self.defaultFreshWithin)).",
        valueName: "seconds"))
    var freshWithin: Int?

    @Option(name: .long, help: ArgumentHelp(
        "The path the freshness check watches, relative to --path (default: the first --data dir).",
        valueName: "path"))
    var fresh: String?

    @Option(name: .long, help: ArgumentHelp(
        "Seconds the checks must keep passing after they first pass, so that a bot that crashes a moment after "
            + "starting is rolled back (default \(Self.defaultSettle); 0 for none).",
        valueName: "seconds"))
    var settle: Int?

    @Flag(name: .customLong("no-health"), help: ArgumentHelp(
        "Write neither health.settle nor the freshness check (only --check, --systemd and --health-command judge "
            + "health)."))
    var noHealth = false

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Where to write both files.", valueName: "dir"))
    var outputDir = "."

    @Flag(name: .long, help: "Overwrite existing files.")
    var force = false

    func validate() throws {
        if fingerprint != nil && knownHosts != nil { throw ValidationError("give --fingerprint or --known-hosts, not both") }
        if check != nil && restart == nil { throw ValidationError("--check goes with --restart") }
        if noHealth && (settle != nil || fresh != nil || freshWithin != nil) {
            throw ValidationError("--no-health leaves out --settle, --fresh and --fresh-within; give one or the other")
        }
        if freshWithin != nil && data.isEmpty && fresh == nil {
            throw ValidationError("--fresh-within needs a --data dir (or --fresh PATH) to watch")
        }
        if let settle, !(0...3600).contains(settle) { throw ValidationError("--settle must be 0 to 3600 seconds") }
        if let freshWithin, freshWithin < 1 { throw ValidationError("--fresh-within must be 1 second or more") }
        for (flag, value) in [("--hook", hook), ("--restart", restart), ("--check", check),
                              ("--health-command", healthCommand)] where value.map(Self.words)?.isEmpty == true {
            throw ValidationError("\(flag) is empty; give the command to run")
        }
        do {
            try files.validate()
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// Both files, from the flags. Commands are split into argv words at spaces; nothing is a shell string.
    private var files: StarterFiles {
        StarterFiles(
            target: .init(name: target, host: host, port: port, user: user, app: app, identity: identity,
                          knownHosts: knownHosts, fingerprint: fingerprint, jump: jump),
            app: .init(name: app, path: path, remote: remote, remoteURL: resolvedRemoteURL, branch: branch, data: data,
                       state: state, keep: keep,
                       hooks: hook.map { [Self.words($0)] } ?? [], restart: restart.map(Self.words),
                       check: check.map(Self.words), systemd: systemd, healthCommand: healthCommand.map(Self.words),
                       fresh: freshPath.map { (path: $0, within: freshWithin ?? Self.defaultFreshWithin) },
                       settle: settleSeconds(fresh: freshPath)))
    }

    /// Seconds of `health.settle` written unless told otherwise: long enough for a bot that dies on its first
    /// trade or reconnect, short enough not to slow every deploy much.
    static let defaultSettle = 3
    /// Seconds of `health.fresh.within` written unless told otherwise.
    static let defaultFreshWithin = 10

    /// The path the freshness check watches: --fresh, else the first data dir; none with --no-health.
    private var freshPath: String? {
        noHealth ? nil : fresh ?? data.first
    }

    /// `health.settle`: --settle, else the default when something checks the app (a settle with nothing to
    /// check only waits).
    private func settleSeconds(fresh: String?) -> Int {
        if noHealth { return 0 }
        if let settle { return settle }
        let checked = check != nil || !systemd.isEmpty || healthCommand != nil || fresh != nil
        return checked ? Self.defaultSettle : 0
    }

    /// One line on how the written agent.yml judges health, so that no default goes unnoticed.
    private func healthNote(_ app: StarterFiles.App) -> String {
        var parts: [String] = []
        if let check = app.check { parts.append("check \(check.joined(separator: " "))") }
        if !app.systemd.isEmpty { parts.append("systemd is-active") }
        if let command = app.healthCommand { parts.append("health command \(command.joined(separator: " "))") }
        if let fresh = app.fresh { parts.append("\(fresh.path) written within \(fresh.within)s after the restart") }
        guard !parts.isEmpty else {
            return "health: nothing checks the app; a deploy whose bot crashes counts as deployed (add --check, "
                + "--systemd or --health-command)"
        }
        let settle = app.settle > 0 ? ", kept passing for \(app.settle)s (health.settle)" : ""
        return "health: \(parts.joined(separator: ", "))\(settle)"
    }

    /// `--remote-url`, else the URL of `--remote` in the clone this runs in, when agent.yml would accept it
    /// (a relative path or a transport helper is left out: it means nothing on the VM).
    private var resolvedRemoteURL: String? {
        if let remoteURL { return remoteURL == "none" ? nil : remoteURL }
        guard let outcome = try? LocalProcess.run(["git", "config", "--get", "remote.\(remote).url"],
                                                    captureOutput: true),
              outcome.status == 0 else { return nil }
        let url = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
        return RemoteURL.problem(url) == nil ? url : nil
    }

    private static func words(_ command: String) -> [String] {
        command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }

    func run() throws {
        let files = self.files
        let project = outputDir + "/shipkeep.yml"
        let agent = outputDir + "/agent.yml"
        for file in [project, agent] where FileManager.default.fileExists(atPath: file) && !force {
            Terminal.error("shipkeep: \(file) exists; pass --force to overwrite it")
            throw ExitCode(DeployExit.failed)
        }
        for (file, text) in [(project, files.projectYAML), (agent, files.agentYAML)] {
            do {
                try text.write(toFile: file, atomically: true, encoding: .utf8)
            } catch {
                Terminal.error("shipkeep: cannot write \(file): \(error.localizedDescription)")
                throw ExitCode(DeployExit.failed)
            }
            print("wrote \(file)")
        }
        print(healthNote(files.app))
        print("""
            next: commit shipkeep.yml, then put the agent and agent.yml on the VM with
              shipkeep install \(target) --agent-yml \(agent)
            """)
    }
}
