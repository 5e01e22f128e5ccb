import ArgumentParser
import Foundation
import Shared

/// Where to connect and how to prove who we are and who they are. Every option also reads an environment
/// variable, so a CI step can configure shipkeep without flags.
struct TargetOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "A target from shipkeep.yml, else a host or ~/.ssh/config alias: HOST, USER@HOST, HOST:PORT, [IPv6]:PORT.",
        valueName: "target"))
    var target: String?

    @Option(name: .long, help: ArgumentHelp(
        "The project's target file (default ./shipkeep.yml if present). [env: SHIPKEEP_CONFIG]", valueName: "file"))
    var config: String?

    @Option(name: .customLong("ssh-config"), help: ArgumentHelp(
        "OpenSSH client config to read Host aliases from (default ~/.ssh/config). [env: SHIPKEEP_SSH_CONFIG]",
        valueName: "file"))
    var sshConfig: String?

    @Option(name: .long, help: ArgumentHelp("The VM's host name or address. [env: SHIPKEEP_HOST]", valueName: "host"))
    var host: String?

    @Option(name: .long, help: ArgumentHelp("The SSH port (default 22). [env: SHIPKEEP_PORT]", valueName: "port"))
    var port: Int?

    @Option(name: .long, help: ArgumentHelp("The SSH user (default: the local user). [env: SHIPKEEP_USER]",
                                            valueName: "user"))
    var user: String?

    @Option(name: .long, help: ArgumentHelp(
        "A private key file (its passphrase, if any, from SHIPKEEP_SSH_PASSPHRASE); skipped, as ssh does, when it does "
            + "not exist and another key does (SHIPKEEP_SSH_KEY, ssh-agent). [env: SHIPKEEP_IDENTITY]",
        valueName: "file"))
    var identity: String?

    @Option(name: .customLong("known-hosts"), help: ArgumentHelp(
        "The known_hosts file the host key must be in (default ~/.ssh/known_hosts). [env: SHIPKEEP_KNOWN_HOSTS]",
        valueName: "file"))
    var knownHosts: String?

    @Option(name: .long, help: ArgumentHelp(
        "Pin the host key by fingerprint instead of known_hosts, as ssh-keygen -lf prints it. [env: SHIPKEEP_FINGERPRINT]",
        valueName: "SHA256:…"))
    var fingerprint: String?

    @Option(name: .long, help: ArgumentHelp(
        "Reach the VM through this jump host, as ssh -J does (one hop; an ~/.ssh/config alias works; none for no "
            + "jump). [env: SHIPKEEP_JUMP]",
        valueName: "[user@]host[:port]"))
    var jump: String?

    @Option(name: .customLong("jump-fingerprint"), help: ArgumentHelp(
        "Pin the jump host's key by fingerprint instead of known_hosts. [env: SHIPKEEP_JUMP_FINGERPRINT]",
        valueName: "SHA256:…"))
    var jumpFingerprint: String?

    @Option(name: .long, help: ArgumentHelp("The app name from the agent's agent.yml. [env: SHIPKEEP_APP]",
                                            valueName: "name"))
    var app: String?

    @Option(name: .customLong("agent-command"), help: ArgumentHelp(
        "The agent program on the VM, when the key has no forced command. [env: SHIPKEEP_AGENT]",
        valueName: "path"))
    var agentCommand: String?

    @Option(name: .customLong("agent-config"), help: ArgumentHelp(
        "The agent's config on the VM, when the key has no forced command. [env: SHIPKEEP_AGENT_CONFIG]",
        valueName: "path"))
    var agentConfig: String?

    @Option(name: .customLong("connect-timeout"), help: ArgumentHelp(
        "Seconds to connect, verify the host key and log in.", valueName: "seconds"))
    var connectTimeout: Double = 10

    @Option(name: .long, help: ArgumentHelp(
        "Seconds without a word from the agent before giving up on it.", valueName: "seconds"))
    var timeout: Double = 60

    @Flag(name: .long, help: "Print the agent's diagnostics (its stderr) and connection details on stderr.")
    var verbose = false

    @Flag(name: [.short, .long], help: "Print only warnings, errors and the final summary line.")
    var quiet = false

    func validate() throws {
        if verbose && quiet { throw ValidationError("--verbose and --quiet contradict each other; pick one") }
    }

    /// The environment the options fall back to; a property so tests can substitute it.
    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Resolves flags, the process environment and defaults into a connection plan.
    ///
    /// - Throws: ``ControllerError`` with kind `.usage` naming the missing or invalid setting.
    func resolve() throws(ControllerError) -> ResolvedTarget {
        try resolve(environment: ProcessInfo.processInfo.environment)
    }

    /// Resolves flags, `environment` and defaults into a connection plan.
    ///
    /// - Parameter environment: The variables the options fall back to (tests pass their own).
    /// - Throws: ``ControllerError`` with kind `.usage` naming the missing or invalid setting.
    func resolve(environment: [String: String]) throws(ControllerError) -> ResolvedTarget {
        let env = environment.filter { !$0.value.isEmpty }  // an empty variable counts as unset
        let names = SettingNames(environment: env)
        let project = try projectTarget(env)
        var parsed = TargetAddress()
        if let target, project == nil { parsed = try TargetAddress.parse(target) }
        if let host = host ?? env["SHIPKEEP_HOST"] ?? project?.host { parsed.host = host }
        guard let alias = parsed.host, !alias.isEmpty else {
            throw ControllerError(.usage, "no VM named: give \(names.either(.target, .host))")
        }
        let localUser = env["USER"] ?? NSUserName()
        let sshConfigFile = sshConfig ?? env["SHIPKEEP_SSH_CONFIG"] ?? NSHomeDirectory() + "/.ssh/config"
        let ssh = try SSHConfig(file: SSHConfig.expandTilde(sshConfigFile)).resolve(alias, localUser: localUser)
        let hostName = ssh.hostName ?? alias
        var envPort: Int?
        if let text = env["SHIPKEEP_PORT"] {
            guard let value = Int(text) else {
                throw ControllerError(.usage, names.inAction ? "\(names.name(.port)) (\(text)) is not a port number"
                    : "SHIPKEEP_PORT=\(text) is not a port number")
            }
            envPort = value
        }
        let portValue = port ?? parsed.port ?? envPort ?? project?.port ?? ssh.port ?? 22
        guard (1...65535).contains(portValue) else {
            throw ControllerError(.usage, "port \(portValue) is out of range (1-65535)")
        }
        let userName = user ?? parsed.user ?? env["SHIPKEEP_USER"] ?? project?.user ?? ssh.user ?? localUser

        let explicitKnownHosts = (knownHosts ?? env["SHIPKEEP_KNOWN_HOSTS"] ?? project?.knownHosts).map(Self.expand)
        let jump = try jumpOptions(
            env,
            project: project,
            proxyJump: ssh.proxyJump,
            sshConfigFile: sshConfigFile,
            localUser: localUser,
            knownHosts: explicitKnownHosts,
            targetIdentityFiles: ssh.identityFiles
        )
        let policy: HostKeyPolicy
        if let pinned = fingerprint ?? env["SHIPKEEP_FINGERPRINT"] ?? project?.fingerprint {
            policy = try Self.pin(pinned, flag: names.inAction ? names.name(.fingerprint) : "--fingerprint")
        } else {
            policy = .knownHosts(paths: try Self.knownHostsFiles(explicit: explicitKnownHosts, ssh: ssh, for: hostName,
                                                                 names: names))
        }
        let credentials = try credentials(env, project: project, identityFiles: ssh.identityFiles,
                                          identitiesOnly: ssh.identitiesOnly)

        var options = SSHConnectOptions(host: hostName, user: userName, hostKeyPolicy: policy, credentials: credentials)
        options.port = portValue
        options.connectTimeout = connectTimeout
        options.readTimeout = timeout
        options.jump = jump
        let agent = agentCommand ?? env["SHIPKEEP_AGENT"] ?? "shipkeep-agent"
        var command = [agent, "serve"]
        if let config = agentConfig ?? env["SHIPKEEP_AGENT_CONFIG"] { command += ["--config", config] }
        var resolved = ResolvedTarget(ssh: options, app: app ?? env["SHIPKEEP_APP"] ?? project?.app,
                                      remoteCommand: command.map(ShellQuote.quote).joined(separator: " "))
        resolved.name = target ?? alias
        resolved.ship = project?.ship ?? false
        return resolved
    }

    static func expand(_ path: String) -> String {
        SSHConfig.expandTilde(path)
    }

    /// A pinned fingerprint, checked for its form.
    static func pin(_ pinned: String, flag: String) throws(ControllerError) -> HostKeyPolicy {
        guard pinned.hasPrefix("SHA256:"), pinned.count > 7 else {
            throw ControllerError(.usage, "\(flag) must look like SHA256:… (as `ssh-keygen -lf KEY.pub` prints it)")
        }
        return .fingerprint(pinned)
    }

    /// The known_hosts files to verify `hostName` with: the one given explicitly, else ssh config's
    /// UserKnownHostsFile or OpenSSH's defaults, plus the system file, those that exist.
    static func knownHostsFiles(
        explicit: String?,
        ssh: SSHConfig.Resolved,
        for hostName: String,
        pinFlag: String = "--fingerprint",
        names: SettingNames = SettingNames(environment: [:])
    ) throws(ControllerError) -> [String] {
        if let explicit { return [explicit] }
        let candidates = ssh.userKnownHostsFiles.isEmpty
            ? [NSHomeDirectory() + "/.ssh/known_hosts", NSHomeDirectory() + "/.ssh/known_hosts2"]
            : ssh.userKnownHostsFiles
        let existing = (candidates + ["/etc/ssh/ssh_known_hosts"]).filter { FileManager.default.fileExists(atPath: $0) }
        guard !existing.isEmpty else {
            throw ControllerError(.hostKey, "no known_hosts file to verify \(hostName)'s host key: " + (names.inAction
                ? "set \(names.either(.knownHosts, .fingerprint)) (known_hosts lines, or SHA256:… as "
                    + "ssh-keygen -lf prints it)"
                : "pass --known-hosts FILE or \(pinFlag) SHA256:…"))
        }
        return existing
    }

    /// The credentials to try, in order: ssh-agent, SHIPKEEP_SSH_KEY, the identity file, then `identityFiles`
    /// (from ssh config) that exist; OpenSSH's default key files only when there is nothing else.
    ///
    /// A named identity file that does not exist is skipped when there is another key to try, as ssh skips a
    /// missing IdentityFile (a shipkeep.yml written for laptops names `~/.ssh/…`, which a CI runner lacks while
    /// the key comes in SHIPKEEP_SSH_KEY); `--verbose` says so. With nothing else to try it is an error.
    /// - Parameter notes: Whether `--verbose` notes are printed (the jump host's resolution repeats the target's).
    func credentials(
        _ env: [String: String],
        project: ProjectConfig.Target?,
        identityFiles: [String],
        identitiesOnly: Bool = false,
        notes: Bool = true
    ) throws(ControllerError) -> [SSHCredential] {
        let names = SettingNames(environment: env)
        let passphrase = env["SHIPKEEP_SSH_PASSPHRASE"]
        var credentials: [SSHCredential] = []
        var files: [String] = []
        // As ssh does: the agent's keys first (a laptop's keys live there), then the named keys; with
        // `IdentitiesOnly yes` the agent is skipped, which also keeps a crowded agent from using up the
        // server's MaxAuthTries before the right key is offered.
        if let socket = env["SSH_AUTH_SOCK"], !socket.isEmpty, !identitiesOnly {
            credentials.append(.agent(socketPath: socket))
        }
        // Blanks alone count as unset, as an empty variable does.
        if let text = env["SHIPKEEP_SSH_KEY"], case let key = PastedKey(text), !key.text.isEmpty {
            if let problem = key.problem {
                throw ControllerError(.authentication, Self.message(for: problem, names: names))
            }
            credentials.append(.keyText(key.text, passphrase: passphrase))
        }
        let configured = identityFiles.filter { FileManager.default.isReadableFile(atPath: $0) }
        if let (file, source) = identitySetting(env, project: project) {
            let path = Self.expand(file)
            if FileManager.default.isReadableFile(atPath: path) {
                files.append(path)
                credentials.append(.keyFile(path: path, passphrase: passphrase))
            } else {
                let others = credentials.map(\.label) + configured.filter { $0 != path }.map { "key file \($0)" }
                guard !FileManager.default.fileExists(atPath: path), !others.isEmpty else {
                    let problem = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
                    throw ControllerError(.usage, "the identity file \(path) (\(source)) \(problem): fix the path, "
                        + "or give the key as \(names.name(.sshKey))"
                        + (names.inAction ? " (the deploy key's private key, from a secret)" : " or through ssh-agent"))
                }
                if verbose && notes {
                    Terminal.error("shipkeep: the identity file \(path) (\(source)) does not exist; skipped, as ssh "
                        + "skips a missing IdentityFile; trying \(others.joined(separator: ", "))")
                }
            }
        }
        for file in configured where !files.contains(file) {
            files.append(file)
            credentials.append(.keyFile(path: file, passphrase: passphrase))
        }
        if credentials.isEmpty {
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                let path = NSHomeDirectory() + "/.ssh/" + name
                if FileManager.default.isReadableFile(atPath: path) {
                    credentials.append(.keyFile(path: path, passphrase: passphrase))
                }
            }
        }
        guard !credentials.isEmpty else {
            throw ControllerError(.authentication, names.inAction
                ? "no SSH key to log in with: \(names.name(.sshKey)) is empty; pass the deploy key's private key "
                    + "from a secret (is the secret defined for this repository and event?)"
                : "no SSH key to log in with: pass --identity FILE, set SHIPKEEP_SSH_KEY, or run an ssh-agent")
        }
        return credentials
    }

    /// The identity file asked for, and where it was asked for.
    private func identitySetting(_ env: [String: String], project: ProjectConfig.Target?) -> (String, String)? {
        if let identity { return (identity, "--identity") }
        if let file = env["SHIPKEEP_IDENTITY"] { return (file, "SHIPKEEP_IDENTITY") }
        if let file = project?.identity { return (file, "identity: in shipkeep.yml") }
        return nil
    }

    /// The one line for a SHIPKEEP_SSH_KEY that holds no private key.
    static func message(for problem: PastedKey.Problem, names: SettingNames) -> String {
        let fix = names.inAction
            ? "put the private key (the whole file, -----BEGIN … PRIVATE KEY----- to -----END …) in the secret "
                + "passed as \(names.name(.sshKey))"
            : "set it to the private key file's text (-----BEGIN … PRIVATE KEY----- to -----END …)"
        switch problem {
        case .publicKey(let type):
            return "SHIPKEEP_SSH_KEY does not hold a private key (it looks like a public key): it starts as a .pub "
                + "file does (\(type)); \(fix)"
        case .puttyKey:
            return "SHIPKEEP_SSH_KEY does not hold a private key (it looks like a PuTTY .ppk key): convert it with "
                + "`puttygen KEY.ppk -O private-openssh -o KEY`, then \(fix)"
        case .notAKey:
            return "SHIPKEEP_SSH_KEY does not hold a private key (there is no -----BEGIN … PRIVATE KEY----- line): "
                + fix
        }
    }

    /// The `shipkeep.yml` target named by TARGET, if there is a project file and it names one.
    private func projectTarget(_ env: [String: String]) throws(ControllerError) -> ProjectConfig.Target? {
        let explicit = config ?? env["SHIPKEEP_CONFIG"]
        let file = explicit ?? "shipkeep.yml"
        guard FileManager.default.fileExists(atPath: file) else {
            if let explicit { throw ControllerError(.usage, "cannot read \(explicit): no such file") }
            return nil
        }
        let project: ProjectConfig
        do {
            project = try ProjectConfig.load(file: file)
        } catch {
            throw ControllerError(.usage, "\(error)")
        }
        guard let target else { return nil }
        if let members = project.groups[target] {
            throw ControllerError(.usage, "\(target) is a group of \(members.count) targets in \(file) "
                + "(\(members.joined(separator: ", "))); only deploy, rollback, attach, snapshots and status take a "
                + "group — name one target")
        }
        return project.target(target)
    }

    /// ``groupMembers()`` for a command's `run()`: a bad project file is a usage error (exit 64).
    ///
    /// - Throws: `ValidationError`.
    func groupMembersForCommand() throws -> [String]? {
        do {
            return try groupMembers()
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// The members of the `shipkeep.yml` group TARGET names, or nil when it names no group.
    ///
    /// - Throws: ``ControllerError`` of kind `.usage` when the project file is unreadable or invalid.
    func groupMembers() throws(ControllerError) -> [String]? {
        let env = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
        let file = config ?? env["SHIPKEEP_CONFIG"] ?? "shipkeep.yml"
        guard let target, FileManager.default.fileExists(atPath: file) else { return nil }
        do {
            return try ProjectConfig.load(file: file).groups[target]
        } catch {
            throw ControllerError(.usage, "\(error)")
        }
    }
}

/// A connection plan: SSH settings, the app, and the command requested on the exec channel (which a forced
/// command in authorized_keys overrides).
struct ResolvedTarget {
    /// What the user named it: the TARGET argument, else the host; for messages that suggest a command.
    var name = ""
    var ssh: SSHConnectOptions
    var app: String?
    var remoteCommand: String
    /// `ship: true` in shipkeep.yml: deploys send the commit over the session (as `deploy --ship`).
    var ship = false

    /// `user@host:port`, for messages.
    var display: String {
        let host = ssh.host.contains(":") ? "[\(ssh.host)]" : ssh.host
        return "\(ssh.user)@\(host):\(ssh.port)"
    }
}
