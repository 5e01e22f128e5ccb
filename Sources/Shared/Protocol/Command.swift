/// A request from the controller to the agent. On the wire: `{"v":1,"type":"<type>","id":"<id>",...fields}`.
///
/// Arguments are data: no field of any command is ever passed to a shell.
public enum Command: Equatable, Sendable {
    /// Opens the session; must be the first request.
    case hello(Hello)
    /// Reports the state of one app, or of every app when `app` is nil.
    case status(app: String?)
    /// Deploys an exact commit, or the tip of a ref, or the configured branch's tip when both are nil.
    case deploy(Deploy)
    /// Puts the code back at the commit before the last deploy.
    case rollback(app: String)
    /// Lists the snapshots of an app.
    case snapshots(app: String)
    /// Takes a snapshot of an app's data dirs now, under its lock, with no update and no restart.
    case snapshot(app: String)
    /// Restores paths (or everything) from a snapshot into the data dirs.
    case restore(Restore)
    /// Replays and follows the events of a deploy (the running or last one when `deploy` is nil).
    case attach(Attach)
    /// Releases a lock held by the named deploy.
    case unlock(app: String, deploy: String)
    /// Streams one snapshot (the newest complete one when `snapshot` is nil) as a gzip-compressed tar.
    case download(Download)
    /// Lists, sets or unsets an app's secrets (its env file).
    case env(Env)
    /// The app's history: deploys, rollbacks, restores, recoveries, restarts, newest first.
    case history(History)
    /// Asks what the app's clone has (HEAD and ref tips), so the controller can ship only what it lacks.
    case shipTips(app: String)
    /// The next bytes of the bundle a `deploy` with `ship` announced; carries that deploy's request id.
    case shipChunk(Event.Chunk)
    /// The last lines of data files or of a service's output, optionally followed.
    case logs(Logs)
    /// Restarts, stops or starts services.
    case service(ServiceControl)
    /// Lists the app's off-VM backups (its restic repository's snapshots), newest first.
    case backups(app: String)

    /// The `hello` request.
    public struct Hello: Codable, Equatable, Sendable {
        /// Who is asking, e.g. `shipkeep/0.1.0`.
        public var client: String
        /// The protocol versions the controller speaks.
        public var protocols: [Int]
        /// Who is asking (`user@host`, the CI job), recorded in the app's history for requests that carry no
        /// identity of their own (rollback, restore, env).
        public var controller: String?
        /// Creates the request.
        public init(client: String, protocols: [Int] = [WireProtocol.version], controller: String? = nil) {
            self.client = client
            self.protocols = protocols
            self.controller = controller
        }
    }

    /// The `deploy` request.
    public struct Deploy: Codable, Equatable, Sendable {
        /// The app name from `agent.yml`.
        public var app: String
        /// An exact commit id (full or abbreviated hex) to deploy.
        public var commit: String?
        /// A branch or tag on the remote to deploy the tip of.
        public var ref: String?
        /// Discard uncommitted changes to tracked files instead of refusing.
        public var force: Bool?
        /// Who asked (user@host, CI job), recorded with the lock and the journal.
        public var controller: String?
        /// Seconds to wait for another deploy of the app to release its lock before refusing as `locked`;
        /// nil or 0 refuses at once. The agent caps it (agent.yml `lock.max_wait`), and at most one deploy
        /// waits per app: a newer request ends the waiting one as `superseded`.
        public var waitLock: Int?
        /// The size in bytes of a git bundle holding `commit`, sent over this session (`deploy --ship`): the agent
        /// answers `ship_ready`, then reads that many bytes in `ship_chunk` requests with this request's id,
        /// has git verify them, and deploys `commit` from them without fetching. Nil: fetch as usual.
        public var ship: Int64?
        /// Skip agent.yml's `gate:`, which a deploy otherwise asks in preflight before anything changes.
        public var ignoreGate: Bool?
        /// Creates the request.
        public init(app: String, commit: String? = nil, ref: String? = nil, force: Bool? = nil,
                    controller: String? = nil, waitLock: Int? = nil, ship: Int64? = nil, ignoreGate: Bool? = nil) {
            self.app = app
            self.commit = commit
            self.ref = ref
            self.force = force
            self.controller = controller
            self.waitLock = waitLock
            self.ship = ship
            self.ignoreGate = ignoreGate
        }
    }

    /// The `restore` request.
    public struct Restore: Codable, Equatable, Sendable {
        /// The app name from `agent.yml`.
        public var app: String
        /// The snapshot id.
        public var snapshot: String
        /// Paths relative to the app's work tree, inside a data dir; nil restores every data dir.
        public var paths: [String]?
        /// Overwrite files that are newer than the snapshot.
        public var force: Bool?
        /// A restic backup id (`shipkeep backups`) to restore from instead of a local snapshot; `snapshot` is then
        /// empty, so that an agent without backups refuses it as an unknown snapshot.
        public var backup: String?
        /// Creates the request.
        public init(app: String, snapshot: String, paths: [String]? = nil, force: Bool? = nil, backup: String? = nil) {
            self.app = app
            self.snapshot = snapshot
            self.paths = paths
            self.force = force
            self.backup = backup
        }
    }

    /// The `download` request.
    public struct Download: Codable, Equatable, Sendable {
        /// The app name from `agent.yml`.
        public var app: String
        /// The snapshot id; nil means the newest complete snapshot.
        public var snapshot: String?
        /// The archive format's raw ``ArchiveFormat`` value; nil means `tar+gzip` (what controllers before zstd
        /// ask for without saying). A string, not the enum, so that an agent answers a format it does not know
        /// with a clear error instead of refusing the line.
        public var format: String?
        /// How the archive's bytes are to come, a raw ``DownloadFraming`` value; nil means `chunks` (base64
        /// `chunk` events, all that agents before frames send). Asked for only from an agent whose `hello` lists
        /// the framing's capability; an older agent ignores the field.
        public var framing: String?
        /// Creates the request.
        public init(app: String, snapshot: String? = nil, format: String? = nil, framing: String? = nil) {
            self.app = app
            self.snapshot = snapshot
            self.format = format
            self.framing = framing
        }
    }

    /// The `attach` request.
    public struct Attach: Codable, Equatable, Sendable {
        /// The app name from `agent.yml`.
        public var app: String
        /// The deploy id; nil means the running deploy, or else the last one.
        public var deploy: String?
        /// Replay events from this sequence number on.
        public var fromSeq: Int?
        /// Creates the request.
        public init(app: String, deploy: String? = nil, fromSeq: Int? = nil) {
            self.app = app
            self.deploy = deploy
            self.fromSeq = fromSeq
        }
    }

    /// The `type` discriminator of this command on the wire.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .status: "status"
        case .deploy: "deploy"
        case .rollback: "rollback"
        case .snapshots: "snapshots"
        case .snapshot: "snapshot"
        case .restore: "restore"
        case .attach: "attach"
        case .unlock: "unlock"
        case .download: "download"
        case .env: "env"
        case .history: "history"
        case .shipTips: "ship_tips"
        case .shipChunk: "ship_chunk"
        case .logs: "logs"
        case .service: "service"
        case .backups: "backups"
        }
    }

    /// Every command type this build knows, in wire spelling.
    public static let allTypes = ["hello", "status", "deploy", "rollback", "snapshots", "restore", "attach", "unlock",
                                  "download", "env", "history", "ship_tips", "ship_chunk", "logs", "service",
                                  "snapshot", "backups"]
}

/// A command with its request id: one line from controller to agent.
public struct Request: Equatable, Sendable {
    /// Chosen by the controller; every event answering this request echoes it.
    public var id: String
    /// What is asked.
    public var command: Command

    /// Creates a request.
    public init(id: String, command: Command) {
        self.id = id
        self.command = command
    }
}
