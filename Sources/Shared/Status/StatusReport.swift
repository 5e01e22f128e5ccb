/// The answer to a `status` request: the agent's view of every app it was asked about.
public struct StatusReport: Codable, Equatable, Sendable {
    /// The VM's host name.
    public var host: String
    /// The agent's version.
    public var agentVersion: String
    /// When the report was taken.
    public var time: Timestamp
    /// The worst health of all apps.
    public var health: Health
    /// One entry per app.
    public var apps: [AppStatus]

    /// Creates a report; `health` is derived from the apps.
    public init(host: String, agentVersion: String, time: Timestamp, apps: [AppStatus]) {
        self.host = host
        self.agentVersion = agentVersion
        self.time = time
        self.apps = apps
        self.health = apps.map(\.health).max() ?? .ok
    }
}

/// The state of one app on the VM.
public struct AppStatus: Codable, Equatable, Sendable {
    /// The app name from `agent.yml`.
    public var name: String
    /// The work tree.
    public var path: String
    /// The configured branch.
    public var branch: String
    /// What is checked out, when the work tree is a readable git repository.
    public var head: GitHead?
    /// Whether tracked files differ from HEAD; nil when it could not be read.
    public var dirty: Bool?
    /// Up to 20 tracked paths that differ from HEAD.
    public var dirtyPaths: [String]
    /// One entry per data dir, in configuration order.
    public var data: [DataDirStatus]
    /// Free space where the data and the state live.
    public var disks: [DiskStatus]
    /// The deploy holding the app's lock, if any.
    public var lock: LockHolder?
    /// The last finished deploy, if any.
    public var lastDeploy: DeployRecord?
    /// This app's verdict.
    public var health: Health
    /// Why the verdict is not OK, one short sentence each.
    public var reasons: [String]
    /// The complete snapshots of the data dirs; nil from agents that do not report them.
    public var snapshots: SnapshotCount?
    /// The checks the agent ran, in order: services, health command, freshness, data dirs; nil from agents
    /// that do not run them.
    public var checks: [CheckResult]?
    /// Why the service checks, health command and freshness rule were not run (a deploy holds the lock and the
    /// tree is half-updated); nil when they ran.
    public var checksSkipped: String?
    /// The last off-VM backup attempt (restic), when agent.yml configures one and one was made.
    public var backup: BackupState?

    /// Creates a status.
    public init(name: String, path: String, branch: String, head: GitHead?, dirty: Bool?, dirtyPaths: [String],
                data: [DataDirStatus], disks: [DiskStatus], lock: LockHolder?, lastDeploy: DeployRecord?,
                health: Health, reasons: [String], snapshots: SnapshotCount? = nil, checks: [CheckResult]? = nil,
                checksSkipped: String? = nil) {
        self.snapshots = snapshots
        self.checks = checks
        self.checksSkipped = checksSkipped
        self.name = name
        self.path = path
        self.branch = branch
        self.head = head
        self.dirty = dirty
        self.dirtyPaths = dirtyPaths
        self.data = data
        self.disks = disks
        self.lock = lock
        self.lastDeploy = lastDeploy
        self.health = health
        self.reasons = reasons
    }
}

/// How many complete snapshots an app has, and when the newest was taken.
public struct SnapshotCount: Codable, Equatable, Sendable {
    /// Complete snapshots (their manifest written).
    public var count: Int
    /// When the newest was taken.
    public var newest: Timestamp?
    /// The newest snapshot's regular files of each data kind (`append`, `sqlite`, `mutable`), when it says.
    public var kinds: [String: Int]?

    /// Creates a count.
    public init(count: Int, newest: Timestamp?, kinds: [String: Int]? = nil) {
        self.count = count
        self.newest = newest
        self.kinds = kinds
    }
}

/// The checked-out commit.
public struct GitHead: Codable, Equatable, Sendable {
    /// The full commit id.
    public var commit: String
    /// The checked-out branch, nil when HEAD is detached.
    public var branch: String?
    /// The commit's subject line.
    public var subject: String?
    /// The commit time.
    public var committedAt: Timestamp?

    /// Creates a head.
    public init(commit: String, branch: String?, subject: String?, committedAt: Timestamp?) {
        self.commit = commit
        self.branch = branch
        self.subject = subject
        self.committedAt = committedAt
    }
}

/// Size and freshness of one data dir.
public struct DataDirStatus: Codable, Equatable, Sendable {
    /// The data dir, relative to the work tree.
    public var path: String
    /// Whether it exists (a new app may not have written anything yet).
    public var exists: Bool
    /// Bytes in regular files.
    public var bytes: Int64
    /// Regular files.
    public var files: Int
    /// The newest modification time of any file in it.
    public var newestMtime: Timestamp?

    /// Creates a data dir status.
    public init(path: String, exists: Bool, bytes: Int64, files: Int, newestMtime: Timestamp?) {
        self.path = path
        self.exists = exists
        self.bytes = bytes
        self.files = files
        self.newestMtime = newestMtime
    }
}

/// Free space on the filesystem holding `path`.
public struct DiskStatus: Codable, Equatable, Sendable {
    /// `data` (one per data dir), `state` or `snapshots`.
    public var role: String
    /// For `data`: the data dir, relative to the work tree.
    public var dir: String?
    /// The directory measured.
    public var path: String
    /// Bytes available to the agent's user.
    public var freeBytes: Int64
    /// Size of the filesystem.
    public var totalBytes: Int64

    /// Creates a disk status.
    public init(role: String, dir: String? = nil, path: String, freeBytes: Int64, totalBytes: Int64) {
        self.role = role
        self.dir = dir
        self.path = path
        self.freeBytes = freeBytes
        self.totalBytes = totalBytes
    }
}

/// Who holds an app's deploy lock.
public struct LockHolder: Codable, Equatable, Sendable {
    /// The deploy id.
    public var deploy: String
    /// Who started it (user@host or CI job).
    public var controller: String?
    /// The commit being deployed.
    public var commit: String?
    /// When the deploy started.
    public var startedAt: Timestamp
    /// The worker's process id.
    public var pid: Int32
    /// False when the lock file names a worker that no longer holds the lock (it died).
    public var alive: Bool

    /// Creates a lock holder.
    public init(deploy: String, controller: String?, commit: String?, startedAt: Timestamp, pid: Int32, alive: Bool) {
        self.deploy = deploy
        self.controller = controller
        self.commit = commit
        self.startedAt = startedAt
        self.pid = pid
        self.alive = alive
    }
}

/// A finished deploy, as remembered in the app's state dir.
public struct DeployRecord: Codable, Equatable, Sendable {
    /// The deploy id.
    public var deploy: String
    /// The commit that was asked for and resolved.
    public var commit: String
    /// The commit before the deploy.
    public var previousCommit: String?
    /// When it started.
    public var startedAt: Timestamp
    /// When it finished.
    public var finishedAt: Timestamp
    /// `succeeded`, `rolled_back`, `failed` or `recovered`.
    public var outcome: Outcome
    /// A line saying what happened, for anything but success.
    public var message: String?
    /// The commit `rollback` goes back to from the commit this deploy left live: the last one live before it that
    /// differed from it. A redeploy of the live commit (or a deploy that changed nothing) carries it over from the
    /// record before; nil when there is none, or from agents that do not record it.
    public var rollbackCommit: String?

    /// Creates a record.
    public init(deploy: String, commit: String, previousCommit: String?, startedAt: Timestamp, finishedAt: Timestamp,
                outcome: Outcome, message: String?, rollbackCommit: String? = nil) {
        self.rollbackCommit = rollbackCommit
        self.deploy = deploy
        self.commit = commit
        self.previousCommit = previousCommit
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.message = message
    }
}
