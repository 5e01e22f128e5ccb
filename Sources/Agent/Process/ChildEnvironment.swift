import Platform
import ProcessKit
import Shared

/// The environment of everything the agent starts: the worker, git, hooks and services.
///
/// Built from an allow-list, never inherited whole: the agent runs as sshd's forced command, so its own
/// environment carries what the key holder chose (`SSH_ORIGINAL_COMMAND`), where they connect from
/// (`SSH_CONNECTION`, `SSH_CLIENT`) and, under Debian's `AcceptEnv LANG LC_*`, their locale. None of it may
/// reach a bot that outlives the session. This is the one place that decides what does.
enum ChildEnvironment {
    /// The variables taken from the agent's own environment when it has them: what programs need to find
    /// their tools and their user, and the machine's time zone.
    static let inherited = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "TZ"]

    /// What every child gets: the allow-listed variables of `environment` (the agent's own by default).
    static func base(from environment: [String: String] = ProcessEnvironment.current()) -> [String: String] {
        environment.filter { inherited.contains($0.key) }
    }

    /// What an app's worker and the agent's own tools (git, systemctl) get on top of ``base(from:)``: `LANG`
    /// from agent.yml.
    static func app(_ app: AppConfig) -> [String: String] {
        ["LANG": app.locale]
    }

    /// What an app's hooks and command services (restart, check and health commands) get: ``app(_:)`` and,
    /// on top, the app's `secrets` from its env file (``EnvFile/environment()``), which the operator may use to
    /// override even `LANG`. Git and systemctl never get them; a systemd unit reads the file itself
    /// (`EnvironmentFile=`).
    static func service(_ app: AppConfig, secrets: [String: String]) -> [String: String] {
        self.app(app).merging(secrets) { $1 }
    }
}
