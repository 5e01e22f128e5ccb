/// The target as the user named it, for a command printed to be pasted (`shipkeep attach …`).
extension TargetOptions {
    /// TARGET and every connection option given on the command line, as given: a shipkeep.yml name stays a
    /// name (with its `--config`), an alias stays an alias (with its `--jump`), so the command resolves as this
    /// one did — the known_hosts of a shipkeep.yml target, the jump host — where `user@address:port` would
    /// not. Settings that came from SHIPKEEP_* variables are left to the environment, as they were here.
    var givenArguments: [String] {
        var words = target.map { [$0] } ?? []
        let options: [(String, String?)] = [
            ("--config", config), ("--ssh-config", sshConfig), ("--host", host), ("--port", port.map(String.init)),
            ("--user", user), ("--identity", identity), ("--known-hosts", knownHosts), ("--fingerprint", fingerprint),
            ("--jump", jump), ("--jump-fingerprint", jumpFingerprint), ("--app", app),
            ("--agent-command", agentCommand), ("--agent-config", agentConfig),
        ]
        for case (let flag, let value?) in options { words += [flag, value] }
        let defaults = Self.defaults
        if connectTimeout != defaults?.connectTimeout { words += ["--connect-timeout", Self.seconds(connectTimeout)] }
        if timeout != defaults?.timeout { words += ["--timeout", Self.seconds(timeout)] }
        return words
    }

    /// `shipkeep SUBCOMMAND TARGET-AS-GIVEN EXTRA…`, each word quoted only where a shell needs it.
    func commandLine(_ subcommand: String, _ extra: [String] = []) -> String {
        (["shipkeep", subcommand] + givenArguments + extra).map(ShellQuote.word).joined(separator: " ")
    }

    /// The options parsed from nothing: their defaults.
    private static var defaults: TargetOptions? { try? TargetOptions.parse([]) }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
