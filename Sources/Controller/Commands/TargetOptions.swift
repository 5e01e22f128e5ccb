import ArgumentParser
import Foundation

/// Where to connect and how to prove who we are and who they are. Every option also reads an environment
/// variable, so a CI step can configure shipkeep without flags.
struct TargetOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "The VM: HOST, USER@HOST, HOST:PORT, [IPv6]:PORT or ssh://USER@HOST:PORT. Same as --host.",
        valueName: "target"))
    var target: String?

    @Option(name: .long, help: ArgumentHelp("The VM's host name or address. [env: SHIPKEEP_HOST]", valueName: "host"))
    var host: String?

    @Option(name: .long, help: ArgumentHelp("The SSH port (default 22). [env: SHIPKEEP_PORT]", valueName: "port"))
    var port: Int?

    @Option(name: .long, help: ArgumentHelp("The SSH user (default: the local user). [env: SHIPKEEP_USER]",
                                            valueName: "user"))
    var user: String?

    @Option(name: .long, help: ArgumentHelp(
        "A private key file. Its passphrase, if any, comes from SHIPKEEP_SSH_PASSPHRASE. [env: SHIPKEEP_IDENTITY]",
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

    /// The environment the options fall back to; a property so tests can substitute it.
    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Resolves flags, environment and defaults into a connection plan.
    ///
    /// - Throws: ``ControllerError`` with kind `.usage` naming the missing or invalid setting.
    func resolve() throws(ControllerError) -> ResolvedTarget {
        let env = environment.filter { !$0.value.isEmpty }  // an empty variable counts as unset
        var parsed = TargetAddress()
        if let target { parsed = try TargetAddress.parse(target) }
        if let host = host ?? env["SHIPKEEP_HOST"] { parsed.host = host }
        guard let hostName = parsed.host, !hostName.isEmpty else {
            throw ControllerError(.usage, "no VM named: give a TARGET, --host or SHIPKEEP_HOST")
        }
        var envPort: Int?
        if let text = env["SHIPKEEP_PORT"], !text.isEmpty {
            guard let value = Int(text) else { throw ControllerError(.usage, "SHIPKEEP_PORT=\(text) is not a port number") }
            envPort = value
        }
        let portValue = port ?? parsed.port ?? envPort ?? 22
        guard (1...65535).contains(portValue) else {
            throw ControllerError(.usage, "port \(portValue) is out of range (1-65535)")
        }
        let userName = user ?? parsed.user ?? env["SHIPKEEP_USER"] ?? env["USER"] ?? NSUserName()

        let policy: HostKeyPolicy
        if let pinned = fingerprint ?? env["SHIPKEEP_FINGERPRINT"] {
            guard pinned.hasPrefix("SHA256:"), pinned.count > 7 else {
                throw ControllerError(.usage, "--fingerprint must look like SHA256:… (as `ssh-keygen -lf KEY.pub` prints it)")
            }
            policy = .fingerprint(pinned)
        } else if let file = knownHosts ?? env["SHIPKEEP_KNOWN_HOSTS"] {
            policy = .knownHosts(paths: [Self.expand(file)])
        } else {
            let defaults = [NSHomeDirectory() + "/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"]
            policy = .knownHosts(paths: defaults.filter { FileManager.default.fileExists(atPath: $0) })
            if case .knownHosts(let paths) = policy, paths.isEmpty {
                throw ControllerError(.hostKey, "no known_hosts file to verify \(hostName)'s host key: "
                    + "pass --known-hosts FILE or --fingerprint SHA256:…")
            }
        }

        let passphrase = env["SHIPKEEP_SSH_PASSPHRASE"]
        var credentials: [SSHCredential] = []
        if let text = env["SHIPKEEP_SSH_KEY"], !text.isEmpty { credentials.append(.keyText(text, passphrase: passphrase)) }
        if let file = identity ?? env["SHIPKEEP_IDENTITY"] {
            let path = Self.expand(file)
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ControllerError(.usage, "cannot read the identity file \(path)")
            }
            credentials.append(.keyFile(path: path, passphrase: passphrase))
        }
        if let socket = env["SSH_AUTH_SOCK"], !socket.isEmpty { credentials.append(.agent(socketPath: socket)) }
        if credentials.isEmpty {
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                let path = NSHomeDirectory() + "/.ssh/" + name
                if FileManager.default.isReadableFile(atPath: path) { credentials.append(.keyFile(path: path, passphrase: passphrase)) }
            }
        }
        guard !credentials.isEmpty else {
            throw ControllerError(.authentication, "no SSH key to log in with: pass --identity FILE, set SHIPKEEP_SSH_KEY, "
                + "or run an ssh-agent")
        }

        var options = SSHConnectOptions(host: hostName, user: userName, hostKeyPolicy: policy, credentials: credentials)
        options.port = portValue
        options.connectTimeout = connectTimeout
        options.readTimeout = timeout
        let agent = agentCommand ?? env["SHIPKEEP_AGENT"] ?? "shipkeep-agent"
        var command = [agent, "serve"]
        if let config = agentConfig ?? env["SHIPKEEP_AGENT_CONFIG"] { command += ["--config", config] }
        return ResolvedTarget(ssh: options, app: app ?? env["SHIPKEEP_APP"],
                              remoteCommand: command.map(ShellQuote.quote).joined(separator: " "))
    }

    private static func expand(_ path: String) -> String {
        path.hasPrefix("~/") ? NSHomeDirectory() + path.dropFirst(1) : path
    }
}

/// A connection plan: SSH settings, the app, and the command requested on the exec channel (which a forced
/// command in authorized_keys overrides).
struct ResolvedTarget {
    var ssh: SSHConnectOptions
    var app: String?
    var remoteCommand: String

    /// `user@host:port`, for messages.
    var display: String {
        let host = ssh.host.contains(":") ? "[\(ssh.host)]" : ssh.host
        return "\(ssh.user)@\(host):\(ssh.port)"
    }
}
