/// The `code` of a failed `result` (``WireError``): stable, machine-readable, matched by the controller (exit
/// status, rendering) and by scripts reading `--json`. The raw values are the wire spellings of v1; a code this
/// build does not know decodes as ``unknown(_:)`` and is treated as a plain failure (exit 1).
public enum ErrorCode: WireName {
    /// The line is not a JSON object (``ProtocolError``).
    case malformed
    /// The line is longer than the protocol allows.
    case lineTooLong
    /// The `v` is not a version this side speaks.
    case unsupportedVersion
    /// The `type` names no message this side knows.
    case unknownType
    /// A field is missing or has the wrong shape.
    case invalidMessage
    /// A valid message not allowed here (e.g. before `hello`).
    case unexpected
    /// A request string holds a control character.
    case controlCharacter
    /// agent.yml cannot be used.
    case configError
    /// agent.yml names no such app.
    case unknownApp
    /// The agent does not serve this request (an older agent).
    case unsupported
    /// The app has no such service.
    case unknownService
    /// The app has no services.
    case noServices
    /// A command service has no `stop:`.
    case noStopCommand
    /// The text is not a snapshot id (``SnapshotID``).
    case invalidSnapshot
    /// The text is not a deploy id (``DeployID``).
    case invalidDeploy
    /// A path is not a plain relative path (``RelativePath``).
    case invalidPath
    /// The app has no complete snapshot with that id.
    case unknownSnapshot
    /// The app has no complete snapshot yet.
    case noSnapshot
    /// A snapshot file no longer matches its manifest.
    case snapshotDamaged
    /// Retention removed the snapshot while it was read.
    case snapshotRemoved
    /// The download stopped on the VM.
    case downloadFailed
    /// No such deploy (or none yet).
    case noDeploy
    /// The deploy never started.
    case notStarted
    /// `unlock` named a deploy that does not hold the lock.
    case notHolder
    /// The lock holder is still running.
    case running
    /// No earlier successful commit to roll back to.
    case nothingToRollBack
    /// Writing a restored file failed.
    case restoreFailed
    /// An env key is not a variable name or not allowed.
    case badKey
    /// An env value cannot be stored.
    case badValue
    /// The env file cannot be read or written.
    case envFile
    /// The bundle is larger than `ship_max_bytes`.
    case shipTooLarge
    /// A `ship_chunk` that does not fit the upload.
    case badShip
    /// The deploy's worker died; recovery runs at the next agent start.
    case workerDied
    /// Another deploy holds the app's lock.
    case locked
    /// A newer request replaced this one while it waited.
    case superseded
    /// Refused before anything changed.
    case refused
    /// The state dir cannot be used.
    case state
    /// The disk is full.
    case noSpace
    /// The snapshot failed.
    case snapshot
    /// The work tree cannot be used.
    case workTree
    /// The commit (or HEAD) tracks a path inside a data dir.
    case trackedData
    /// Tracked files have uncommitted changes.
    case dirty
    /// `git fetch` failed.
    case fetch
    /// The first deploy's clone failed.
    case clone
    /// The ref cannot be deployed.
    case badRef
    /// The commit is not a commit id.
    case badCommit
    /// The remote does not have the commit.
    case unknownCommit
    /// The commit is not reachable from the branch or `allow_refs`.
    case unreachable
    /// The commit lacks a signature `require_signed` accepts.
    case unsigned
    /// agent.yml does not allow `deploy --ship`.
    case shipNotAllowed
    /// git refused the shipped bundle.
    case shipRejected
    /// agent.yml's `gate:` said not now.
    case gateBusy
    /// A bug: the agent could not go on.
    case `internal`
    /// The deploy failed (first deploy: nothing to roll back to).
    case failed
    /// The new commit was unhealthy and was rolled back.
    case rolledBack
    /// The rollback itself failed: the app needs attention.
    case rollbackFailed
    /// The previous commit is unhealthy too: the app needs attention.
    case rollbackUnhealthy
    /// The first deploy is unhealthy, with nothing to roll back to.
    case firstDeployUnhealthy
    /// The worker died and the agent recovered the app.
    case recovered
    /// Services restarted or started but are not healthy.
    case unhealthy
    /// A service failed to restart.
    case restartFailed
    /// A service failed to stop.
    case stopFailed
    /// A service failed to start.
    case startFailed
    /// The controller's: bad flags, environment or target.
    case usage
    /// The controller's: the VM could not be reached, or the connection broke.
    case connection
    /// The controller's: the host key is unknown or does not match.
    case hostKey
    /// The controller's: no key was accepted.
    case authentication
    /// The controller's: the agent did not speak the protocol.
    case protocolError
    /// The controller's: the agent answered with an error.
    case agent
    /// The controller's: a step on this machine failed.
    case local
    /// The controller's: interrupted by a signal (the deploy goes on on the VM).
    case interrupted
    /// The controller's: a fleet host not deployed after a canary failed.
    case skipped
    /// A code this build does not know (a newer agent's).
    /// The app has no `backup:` in agent.yml (``Command/Backups``, `restore --backup`).
    case noBackup
    /// restic could not list or fetch the backups.
    case backupFailed
    /// The `--backup` id names no backup of this app.
    case unknownBackup
    /// The backup holds no complete shipkeep snapshot.
    case backupUnusable
    /// The download asked for an archive format this agent does not write.
    case unsupportedFormat
    case unknown(String)

    /// Every code this build knows.
    public static let known: [ErrorCode] = [
        .malformed, .lineTooLong, .unsupportedVersion, .unknownType, .invalidMessage, .unexpected,
        .controlCharacter, .configError, .unknownApp, .unsupported, .unknownService, .noServices,
        .noStopCommand, .invalidSnapshot, .invalidDeploy, .invalidPath, .unknownSnapshot, .noSnapshot,
        .snapshotDamaged, .snapshotRemoved, .downloadFailed, .noDeploy, .notStarted, .notHolder, .running,
        .nothingToRollBack, .restoreFailed, .badKey, .badValue, .envFile, .shipTooLarge, .badShip,
        .workerDied, .locked, .superseded, .refused, .state, .noSpace, .snapshot, .workTree, .trackedData,
        .dirty, .fetch, .clone, .badRef, .badCommit, .unknownCommit, .unreachable, .unsigned,
        .shipNotAllowed, .shipRejected, .gateBusy, .internal, .failed, .rolledBack, .rollbackFailed,
        .rollbackUnhealthy, .firstDeployUnhealthy, .recovered, .unhealthy, .restartFailed, .stopFailed,
        .startFailed, .usage, .connection, .hostKey, .authentication, .protocolError, .agent, .local,
        .interrupted, .skipped, .noBackup, .backupFailed, .unknownBackup, .backupUnusable, .unsupportedFormat
    ]

    /// The wire spelling.
    public var rawValue: String {
        switch self {
        case .malformed: "malformed"
        case .noBackup: "no_backup"
        case .backupFailed: "backup_failed"
        case .unknownBackup: "unknown_backup"
        case .backupUnusable: "backup_unusable"
        case .unsupportedFormat: "unsupported_format"
        case .lineTooLong: "line_too_long"
        case .unsupportedVersion: "unsupported_version"
        case .unknownType: "unknown_type"
        case .invalidMessage: "invalid_message"
        case .unexpected: "unexpected"
        case .controlCharacter: "control_character"
        case .configError: "config_error"
        case .unknownApp: "unknown_app"
        case .unsupported: "unsupported"
        case .unknownService: "unknown_service"
        case .noServices: "no_services"
        case .noStopCommand: "no_stop_command"
        case .invalidSnapshot: "invalid_snapshot"
        case .invalidDeploy: "invalid_deploy"
        case .invalidPath: "invalid_path"
        case .unknownSnapshot: "unknown_snapshot"
        case .noSnapshot: "no_snapshot"
        case .snapshotDamaged: "snapshot_damaged"
        case .snapshotRemoved: "snapshot_removed"
        case .downloadFailed: "download_failed"
        case .noDeploy: "no_deploy"
        case .notStarted: "not_started"
        case .notHolder: "not_holder"
        case .running: "running"
        case .nothingToRollBack: "nothing_to_roll_back"
        case .restoreFailed: "restore_failed"
        case .badKey: "bad_key"
        case .badValue: "bad_value"
        case .envFile: "env_file"
        case .shipTooLarge: "ship_too_large"
        case .badShip: "bad_ship"
        case .workerDied: "worker_died"
        case .locked: "locked"
        case .superseded: "superseded"
        case .refused: "refused"
        case .state: "state"
        case .noSpace: "no_space"
        case .snapshot: "snapshot"
        case .workTree: "work_tree"
        case .trackedData: "tracked_data"
        case .dirty: "dirty"
        case .fetch: "fetch"
        case .clone: "clone"
        case .badRef: "bad_ref"
        case .badCommit: "bad_commit"
        case .unknownCommit: "unknown_commit"
        case .unreachable: "unreachable"
        case .unsigned: "unsigned"
        case .shipNotAllowed: "ship_not_allowed"
        case .shipRejected: "ship_rejected"
        case .gateBusy: "gate_busy"
        case .internal: "internal"
        case .failed: "failed"
        case .rolledBack: "rolled_back"
        case .rollbackFailed: "rollback_failed"
        case .rollbackUnhealthy: "rollback_unhealthy"
        case .firstDeployUnhealthy: "first_deploy_unhealthy"
        case .recovered: "recovered"
        case .unhealthy: "unhealthy"
        case .restartFailed: "restart_failed"
        case .stopFailed: "stop_failed"
        case .startFailed: "start_failed"
        case .usage: "usage"
        case .connection: "connection"
        case .hostKey: "host_key"
        case .authentication: "authentication"
        case .protocolError: "protocol"
        case .agent: "agent"
        case .local: "local"
        case .interrupted: "interrupted"
        case .skipped: "skipped"
        case .unknown(let code): code
        }
    }

    /// `restart_failed`, `stop_failed` or `start_failed`: a service action that failed.
    public static func serviceActionFailed(_ phase: DeployPhase) -> ErrorCode {
        ErrorCode(rawValue: phase.rawValue + "_failed")
    }
}
