/// One app from `agent.yml`, with defaults applied and every path made absolute.
public struct AppConfig: Equatable, Sendable {
    /// The name the controller uses.
    public var name: String
    /// The git work tree (absolute).
    public var path: String
    /// The git remote to fetch from.
    public var remote: String
    /// The branch deployed when no commit or ref is named.
    public var branch: String
    /// Where the first deploy clones the app from when `path` does not exist yet (`remote_url:`); see
    /// ``RemoteURL`` for the spellings accepted.
    public var remoteURL: String?
    /// Data dirs relative to `path`; never touched by the update, snapshotted first.
    public var data: [String]
    /// Lock, journal and last deploy (absolute).
    public var state: String
    /// Where snapshots go and how many are kept.
    public var snapshots: SnapshotConfig
    /// Commands run after the code is updated.
    public var hooks: HooksConfig
    /// Services restarted in order after the update.
    public var services: [ServiceConfig]
    /// How health is judged after the restart.
    public var health: HealthConfig
    /// Which data files are append-only, databases or mutable (`kinds:`).
    public var kinds: DataKindRules = DataKindRules()
    /// How long a deploy may wait for the app's lock.
    public var lock: LockConfig = LockConfig()
    /// `LANG` for the worker, hooks and services (the session's locale is never passed on).
    public var locale: String = AppConfig.defaultLocale

    /// The locale when agent.yml names none: UTF-8 everywhere, and present on every Debian and Ubuntu.
    public static let defaultLocale = "C.UTF-8"
    /// Refs besides `branch` whose commits `--commit` may deploy (`allow_refs`): patterns under `refs/heads/` or
    /// `refs/tags/`, each with at most one `*` (which matches anything, `/` included, as in a git refspec).
    public var allowRefs: [String] = []
    /// An `allowed_signers` file (`require_signed`): when set, only commits carrying a git SSH signature by a key
    /// listed there are deployed.
    public var requireSigned: String?
    /// Whether `deploy --ship` may send the code over the session, and how big it may be (`ship:`,
    /// `ship_max_bytes:`).
    public var ship: ShipConfig = ShipConfig()

    /// The app's secrets (`env_file`): `KEY="value"` lines given to hooks and command services, and read by
    /// systemd units through `EnvironmentFile=`. Absolute, outside the work tree; default `STATE/env`.
    public var envFile: String?
    /// The keys `shipkeep env` may set or unset (`env_keys`: names, or prefixes ending in `*`); nil allows any
    /// key that ``EnvKey`` does not refuse.
    public var envKeys: [String]?

    /// The env file in use: `env_file`, else `env` in the state dir.
    public var secretsFile: String { envFile ?? state + "/env" }

    /// Off-VM copies of each snapshot (`backup:`); nil when none are made.
    public var backup: BackupConfig?

    /// Asked before a deploy changes anything and before a restart or stop (`gate:`, `gate_timeout:`).
    public var gate: GateConfig?
    /// `stop:` and `start:` of command services, by service name.
    public var serviceCommands: [String: ServiceCommands] = [:]

    /// Absolute paths of the data dirs.
    public var dataPaths: [String] { data.map { path + "/" + $0 } }
}

/// The deploy lock's limits (`lock: {max_wait: SECONDS}`).
public struct LockConfig: Equatable, Sendable {
    /// The longest a deploy may wait for the lock, whatever `--wait-lock` asks: a request that waits longer is
    /// stale (its CI job has long given up), and a waiting worker holds memory the whole time.
    public var maxWait: Int = LockConfig.defaultMaxWait

    /// 30 minutes: longer than any sane deploy, far shorter than the day a forgotten request once waited.
    public static let defaultMaxWait = 1800

    /// Limits; see the properties.
    public init(maxWait: Int = LockConfig.defaultMaxWait) {
        self.maxWait = maxWait
    }
}

/// Snapshot location and retention.
///
/// A snapshot is kept if it is among the newest `keep`, or the newest of its hour among the newest `hourly` hours
/// that have one (likewise `daily` for UTC days and `weekly` for ISO weeks). Only snapshots whose deploy (or
/// snapshot request) succeeded are counted so; those of failed or rolled-back deploys are counted apart, the newest
/// `keepFailed` of them kept, so they never push out a successful one.
public struct SnapshotConfig: Equatable, Sendable {
    /// The snapshot directory (absolute).
    public var dir: String
    /// How many of the newest complete snapshots to keep.
    public var keep: Int
    /// The newest snapshot of each of this many hours (that have one) is kept too.
    public var hourly: Int
    /// The newest snapshot of each of this many UTC days (that have one) is kept too.
    public var daily: Int
    /// The newest snapshot of each of this many ISO weeks (that have one) is kept too.
    public var weekly: Int
    /// How many of the newest snapshots of unsuccessful deploys are kept (counted apart from the others).
    public var keepFailed: Int

    /// Creates a retention; only `keep` by default, as before policies.
    public init(dir: String, keep: Int, hourly: Int = 0, daily: Int = 0, weekly: Int = 0, keepFailed: Int? = nil) {
        self.dir = dir
        self.keep = keep
        self.hourly = hourly
        self.daily = daily
        self.weekly = weekly
        self.keepFailed = keepFailed ?? keep
    }
}

/// Commands run after the update, each an argv array run in the work tree.
public struct HooksConfig: Equatable, Sendable {
    /// Run in order after `git reset`; a failure fails the deploy.
    public var afterUpdate: [[String]]
    /// Seconds each hook may run before it is killed.
    public var timeout: Int
}

/// A service restarted by a deploy.
public enum ServiceConfig: Equatable, Sendable {
    /// A program-managed service: `restart` and `check` are argv arrays run in the work tree.
    case command(name: String, restart: [String], check: [String]?, timeout: Int)
    /// A systemd unit: `systemctl restart UNIT`, then `systemctl is-active UNIT`, in the system's manager or
    /// the agent user's own (`scope`).
    case systemd(unit: String, scope: SystemdScope = .system, timeout: Int)

    /// A name for progress lines and logs.
    public var name: String {
        switch self {
        case .command(let name, _, _, _): name
        case .systemd(let unit, _, _): unit
        }
    }
}

/// Which systemd manager a `systemd:` service belongs to (`scope:` in agent.yml).
public enum SystemdScope: String, Equatable, Sendable, CaseIterable {
    /// The system's manager (`/etc/systemd/system`): the agent runs `systemctl` itself as root, else through
    /// `sudo -n` and the rule ``SudoersRule`` prints.
    case system
    /// The agent user's own manager (`~/.config/systemd/user`, `systemctl --user`); lingering keeps it running
    /// without a login and starts it at boot.
    case user
}

/// How health is judged after the restart.
public struct HealthConfig: Equatable, Sendable {
    /// An optional command that exits 0 when healthy.
    public var command: [String]?
    /// Seconds for the whole health phase, retries included.
    public var timeout: Int
    /// An optional freshness check: some file under `path` modified within `within` seconds.
    public var fresh: FreshnessCheck?
    /// Seconds the checks must keep passing, at every attempt, after they first pass (0: healthy at the first
    /// pass). Shorter than `timeout`.
    public var settle: Int = 0
}

/// "The bot is writing again": a file under `path` (relative to the work tree) modified within `within` seconds.
public struct FreshnessCheck: Equatable, Sendable {
    /// A file or directory relative to the work tree.
    public var path: String
    /// Seconds.
    public var within: Int
}
