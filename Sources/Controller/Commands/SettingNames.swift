import Foundation

/// How a message names a setting the user has to fix: by its flag and environment variable on the command
/// line, or by the action's input when shipkeep runs as the step of this repository's `action.yml` (which sets
/// `SHIPKEEP_ACTION=1`; GitHub sets `GITHUB_ACTIONS=true`). A message that says `--app` to someone who wrote
/// `with: app:` sends them looking for a flag they never typed.
struct SettingNames {
    /// A setting that has both a command-line name and an action input.
    enum Setting {
        case target, host, port, app, sshKey, knownHosts, fingerprint, commit, waitLock

        /// The flag or argument, and the variable, as the command line knows them.
        var commandLine: String {
            switch self {
            case .target: "a TARGET"
            case .host: "--host or SHIPKEEP_HOST"
            case .port: "--port or SHIPKEEP_PORT"
            case .app: "--app NAME or SHIPKEEP_APP"
            case .sshKey: "SHIPKEEP_SSH_KEY"
            case .knownHosts: "--known-hosts FILE"
            case .fingerprint: "--fingerprint SHA256:…"
            case .commit: "--commit"
            case .waitLock: "--wait-lock or SHIPKEEP_WAIT_LOCK"
            }
        }

        /// The input's name in `action.yml`.
        var input: String {
            switch self {
            case .target: "target"
            case .host: "host"
            case .port: "port"
            case .app: "app"
            case .sshKey: "ssh-key"
            case .knownHosts: "known-hosts"
            case .fingerprint: "fingerprint"
            case .commit: "commit"
            case .waitLock: "wait-lock"
            }
        }
    }

    /// Whether this process is the shipkeep action's step.
    let inAction: Bool

    /// Decides from the environment whether this process runs as the shipkeep action's step.
    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        inAction = environment["GITHUB_ACTIONS"] == "true" && environment["SHIPKEEP_ACTION"] == "1"
    }

    /// `setting` as the user set it: "input `app`" in the action, "--app NAME or SHIPKEEP_APP" otherwise.
    func name(_ setting: Setting) -> String {
        inAction ? "input `\(setting.input)`" : setting.commandLine
    }

    /// Either of two settings: "input `known-hosts` or `fingerprint`" in the action, "--known-hosts FILE or
    /// --fingerprint SHA256:…" otherwise.
    func either(_ first: Setting, _ second: Setting) -> String {
        inAction ? "input `\(first.input)` or `\(second.input)`" : "\(first.commandLine) or \(second.commandLine)"
    }
}
