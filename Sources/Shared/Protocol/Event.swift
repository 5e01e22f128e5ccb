/// Something the agent tells the controller. On the wire:
/// `{"v":1,"type":"<type>","id":"<request id>","seq":N,...fields}`.
public enum Event: Equatable, Sendable {
    /// The answer to `hello`: who the agent is and what it can do.
    case hello(HelloReply)
    /// A deploy phase started, finished, failed or was skipped.
    case phase(Phase)
    /// How far a long step has come.
    case progress(Progress)
    /// A line of output from a service, hook or git.
    case log(Log)
    /// Something the user should know that did not stop the request (e.g. a repaired file).
    case warning(Warning)
    /// The answer to `status`.
    case status(StatusReport)
    /// A deploy was accepted and runs as `deploy` (first event of `deploy`, `rollback` and `attach`).
    case started(Started)
    /// The answer to `snapshots`.
    case snapshots(SnapshotList)
    /// The first answer to `download`: which snapshot is coming and how big it is.
    case archive(Archive)
    /// Part of the downloaded snapshot's manifest, which the controller checks the archive against.
    case manifest(ManifestPart)
    /// The next bytes of the gzip-compressed tar of a `download`.
    case chunk(Chunk)
    /// The next bytes of a `download`'s archive as raw bytes after the line (when the controller asked for frames).
    case frame(Frame)
    /// The keys (never the values) of an app's secrets: the answer to `env`.
    case env(EnvKeys)
    /// One entry of an app's history, newest first: the answer to `history`, one event per entry.
    case history(HistoryRecord)
    /// The answer to `ship_tips`: what the app's clone has, and how big a bundle it takes.
    case shipTips(ShipTips)
    /// A `deploy` with `ship` was accepted: send its bundle now, in `ship_chunk` requests.
    case shipReady(ShipReady)
    /// The answer to `backups`.
    case backups(BackupList)
    /// The last event of every request.
    case result(Result)

    /// The agent's half of the opening exchange.
    public struct HelloReply: Codable, Equatable, Sendable {
        /// The protocol version the agent chose.
        public var `protocol`: Int
        /// The agent's own version, e.g. `0.1.0`.
        public var agentVersion: String
        /// The request types this agent serves.
        public var capabilities: [String]
        /// The app names configured in `agent.yml`.
        public var apps: [String]
        /// Creates the reply.
        public init(protocol: Int, agentVersion: String, capabilities: [String], apps: [String]) {
            self.protocol = `protocol`
            self.agentVersion = agentVersion
            self.capabilities = capabilities
            self.apps = apps
        }
    }

    /// A phase transition. Phase names are part of the contract:
    /// `preflight, snapshot, update, verify, restart, health, rollback`.
    public struct Phase: Codable, Equatable, Sendable {
        /// The phase name.
        public var name: DeployPhase
        /// `started`, `completed`, `failed` or `skipped`.
        public var state: PhaseState
        /// Optional detail, e.g. the resolved commit or why the phase failed.
        public var detail: String?
        /// How long the phase took, in seconds, on the state that ends it (`completed`, `failed`): measured by the
        /// worker and kept in the journal, so a replay shows the real durations.
        public var seconds: Double?
        /// Creates the event.
        public init(name: DeployPhase, state: PhaseState, detail: String? = nil, seconds: Double? = nil) {
            self.name = name
            self.state = state
            self.detail = detail
            self.seconds = seconds
        }
    }

    /// Progress of a long step.
    public struct Progress: Codable, Equatable, Sendable {
        /// The phase this progress belongs to.
        public var phase: DeployPhase
        /// Units done so far.
        public var done: Int64
        /// Units in all, when known.
        public var total: Int64?
        /// `bytes` or `files`.
        public var unit: String
        /// Creates the event.
        public init(phase: DeployPhase, done: Int64, total: Int64?, unit: String) {
            self.phase = phase
            self.done = done
            self.total = total
            self.unit = unit
        }
    }

    /// One line of output from a child process.
    public struct Log: Codable, Equatable, Sendable {
        /// `stdout` or `stderr`, or `journal` for a systemd unit's journal.
        public var stream: String
        /// The line, without its newline.
        public var line: String
        /// What produced it, e.g. a service or hook name.
        public var source: String?
        /// Creates the event.
        public init(stream: String, line: String, source: String? = nil) {
            self.stream = stream
            self.line = line
            self.source = source
        }
    }

    /// A non-fatal problem.
    public struct Warning: Codable, Equatable, Sendable {
        /// A stable machine-readable code, e.g. `repaired`.
        public var code: String
        /// One line for a human.
        public var message: String
        /// Creates the event.
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// A deploy running on the VM, detached from this connection.
    public struct Started: Codable, Equatable, Sendable {
        /// The deploy id, for `attach`.
        public var deploy: String
        /// The app.
        public var app: String
        /// The worker's process id on the VM.
        public var pid: Int32?
        /// Creates the event.
        public init(deploy: String, app: String, pid: Int32?) {
            self.deploy = deploy
            self.app = app
            self.pid = pid
        }
    }

    /// The complete snapshots of an app, oldest first.
    public struct SnapshotList: Codable, Equatable, Sendable {
        /// The app.
        public var app: String
        /// The snapshots.
        public var snapshots: [SnapshotInfo]
        /// Creates the event.
        public init(app: String, snapshots: [SnapshotInfo]) {
            self.app = app
            self.snapshots = snapshots
        }
    }

    /// The final event of a request.
    public struct Result: Codable, Equatable, Sendable {
        /// Whether the request did what it asked.
        public var ok: Bool
        /// Why not, when `ok` is false.
        public var error: WireError?
        /// What a deploy, rollback or recovery did.
        public var deploy: DeploySummary?
        /// Creates the event.
        public init(ok: Bool, error: WireError? = nil, deploy: DeploySummary? = nil) {
            self.ok = ok
            self.error = error
            self.deploy = deploy
        }

        /// A successful result.
        public static let success = Result(ok: true)

        /// A failed result with `code` and `message`.
        public static func failure(_ code: ErrorCode, _ message: String) -> Result {
            Result(ok: false, error: WireError(code: code, message: message))
        }
    }

    /// The `type` discriminator of this event on the wire.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .phase: "phase"
        case .progress: "progress"
        case .log: "log"
        case .warning: "warning"
        case .status: "status"
        case .started: "started"
        case .snapshots: "snapshots"
        case .archive: "archive"
        case .manifest: "manifest"
        case .chunk: "chunk"
        case .frame: "frame"
        case .env: "env"
        case .history: "history"
        case .shipTips: "ship_tips"
        case .shipReady: "ship_ready"
        case .backups: "backups"
        case .result: "result"
        }
    }
}

/// An error as carried in a `result` event.
public struct WireError: Codable, Equatable, Sendable {
    /// A stable machine-readable code, e.g. `unknown_app`, `locked`, `malformed`.
    public var code: ErrorCode
    /// One line for a human, saying what failed and what to do.
    public var message: String
    /// Creates an error.
    public init(code: ErrorCode, message: String) {
        self.code = code
        self.message = message
    }
}

/// An event with its envelope: one line from agent to controller.
public struct EventMessage: Equatable, Sendable {
    /// The id of the request this answers; nil only for an error about a line that had no readable id.
    public var id: String?
    /// Increases by one with each event of the same request, starting at 1.
    public var seq: Int
    /// What happened.
    public var event: Event

    /// Creates a message.
    public init(id: String?, seq: Int, event: Event) {
        self.id = id
        self.seq = seq
        self.event = event
    }
}
