/// The names an app's secrets may have (`shipkeep env set KEY`), one rule for the controller, which refuses a bad
/// name before connecting, and the agent, which refuses it whatever a client sends.
public enum EnvKey {
    /// The longest key accepted.
    public static let maxLength = 128
    /// The longest value accepted (bytes of UTF-8).
    public static let maxValueBytes = 32 * 1024

    /// Variables that make the dynamic loader, a shell or an interpreter load or run other code, or that the
    /// agent sets itself: a leaked deploy key must not turn `env set` into running code that agent.yml does not
    /// name. The operator can still write any of them into the env file by hand.
    public static let refusedNames: Set<String> = [
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TZ", "LANG", "LANGUAGE", "IFS", "ENV", "BASH_ENV", "CDPATH",
        "PS4", "SHELLOPTS", "BASHOPTS", "PROMPT_COMMAND", "GLOBIGNORE", "NODE_OPTIONS", "NODE_PATH", "PERL5OPT",
        "PERL5LIB", "PERLLIB", "RUBYOPT", "RUBYLIB", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS",
        "GCONV_PATH", "HOSTALIASES", "LOCPATH", "NLSPATH", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME",
        "DBUS_SESSION_BUS_ADDRESS", "BROWSER", "PAGER", "EDITOR", "VISUAL", "TMPDIR",
    ]
    /// Prefixes refused likewise (`LD_PRELOAD`, `PYTHONSTARTUP`, `GIT_SSH_COMMAND`, `BASH_FUNC_…`, `LC_ALL`…).
    public static let refusedPrefixes = ["LD_", "LC_", "PYTHON", "BASH_", "GIT_", "SSH_", "SYSTEMD_", "SHIPKEEP_",
                                         "PIP_", "NPM_CONFIG_", "DYLD_"]

    /// Whether `key` is a shell-style identifier: ASCII letters, digits and `_`, not starting with a digit.
    public static func isIdentifier(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, key.unicodeScalars.count <= maxLength,
              first == "_" || ("A"..."Z").contains(first) || ("a"..."z").contains(first) else { return false }
        return key.unicodeScalars.allSatisfy {
            $0 == "_" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0)
        }
    }

    /// Why `key` cannot be set or unset through the protocol, or nil when it can. `allowed` is agent.yml's
    /// `env_keys` (exact names, or a prefix ending in `*`), nil when it names none.
    public static func refusal(_ key: String, allowed: [String]? = nil) -> String? {
        guard isIdentifier(key) else {
            // Not echoed: a value typed where the key goes must not be printed back.
            return "the key is not a variable name: use letters, digits and _, not starting with a digit, at most "
                + "\(maxLength) characters"
        }
        let upper = key.uppercased()
        if refusedNames.contains(upper) || refusedPrefixes.contains(where: { upper.hasPrefix($0) }) {
            return "\(key) changes how programs start (the loader, a shell or an interpreter) or is set by the "
                + "agent itself, so a deploy key cannot set it; put it in the unit or the env file by hand"
        }
        if let allowed, !allowed.contains(where: { matches(key, $0) }) {
            return "\(key) is not in the app's env_keys in agent.yml (\(allowed.joined(separator: ", ")))"
        }
        return nil
    }

    /// Why `value` cannot be stored, or nil. Values are one line: the env file has one variable a line, as
    /// systemd's `EnvironmentFile=` reads it.
    public static func valueRefusal(_ value: String) -> String? {
        if value.utf8.count > maxValueBytes { return "the value is longer than \(maxValueBytes) bytes" }
        if value.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) {
            return "the value holds a line break; secrets are one line (encode a multi-line one, e.g. base64)"
        }
        if value.unicodeScalars.contains(where: ControlCharacters.isControl) {
            return "the value holds a control character; secrets are plain text"
        }
        return nil
    }

    /// Whether `key` matches an `env_keys` pattern: the exact name, or a prefix followed by `*`.
    public static func matches(_ key: String, _ pattern: String) -> Bool {
        pattern.hasSuffix("*") ? key.hasPrefix(pattern.dropLast()) : key == pattern
    }

    /// Whether `pattern` can be an `env_keys` entry.
    public static func isValidPattern(_ pattern: String) -> Bool {
        let name = pattern.hasSuffix("*") ? String(pattern.dropLast()) : pattern
        return name.isEmpty ? pattern == "*" : isIdentifier(name)
    }
}
