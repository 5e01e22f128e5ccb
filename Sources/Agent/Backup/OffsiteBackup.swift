import Shared

/// The off-VM copy after a snapshot: `restic backup` of it, then `restic forget --prune` with the app's
/// retention. Run by the worker under the app's lock, once the snapshot's outcome and the local retention are
/// settled, so no snapshot it reads is pruned meanwhile. A failure is a warning, never a failed deploy or
/// snapshot: the snapshot is on the VM whatever happens here. The outcome is recorded in the state dir
/// (`backup.json`) for `status`.
struct OffsiteBackup {
    let app: AppConfig
    let config: ResticConfig
    let emit: (Event) -> Void

    /// The state file `status` reads.
    static func statePath(_ app: AppConfig) -> String { app.state + "/backup.json" }

    /// The last attempt recorded for `app`, if any.
    static func lastState(_ app: AppConfig) -> BackupState? {
        FileSystem.read(statePath(app)).flatMap { try? StateDirectory.decode(BackupState.self, from: $0) }
    }

    /// Backs up snapshot `info` and applies the retention.
    func run(_ info: SnapshotInfo) {
        let restic = Restic(app: app, config: config)
        let started = Timestamp.now()
        let previous = Self.lastState(app)
        emit(.log(.init(stream: "stdout", line: "backing up snapshot \(info.id) to the restic repository "
            + "(at most \(config.timeout)s per restic command)", source: "backup")))
        let log: (String, String) -> Void = { stream, line in
            emit(.log(.init(stream: stream, line: String(line.prefix(4096)), source: "backup")))
        }
        let setup: Restic.Setup
        let summary: Restic.BackupSummary
        do {
            setup = try restic.setup()
            summary = try restic.backup(info, setup: setup, onLine: log)
        } catch {
            emit(.warning(.init(code: "backup_failed", message: "the off-VM backup of snapshot \(info.id) failed: "
                + "\(error.description); the snapshot itself is on the VM")))
            record(BackupState(attemptedAt: .now(), ok: false, snapshot: info.id, message: error.description,
                               newest: previous?.newest, maxAge: config.maxAge))
            return
        }
        let added = summary.data_added.map { ", \(ByteCount.format($0)) added" } ?? ""
        emit(.log(.init(stream: "stdout", line: "backup \(summary.snapshot_id ?? "?") of snapshot \(info.id) stored "
            + "in \(Self.seconds(Timestamp.now() - started))\(added)", source: "backup")))
        var message: String?
        do {
            try restic.forget(setup: setup) { stream, line in
                // `forget` lists every snapshot it keeps; only what it removes is worth a line.
                if stream == "stderr" || line.includes("remove") { log(stream, line) }
            }
        } catch {
            message = "restic forget --prune failed: \(error.description); the repository keeps more than the "
                + "retention until the next backup"
            emit(.warning(.init(code: "backup_forget", message: message!)))
        }
        record(BackupState(attemptedAt: .now(), ok: true, snapshot: info.id, backup: summary.snapshot_id,
                           message: message, newest: started, maxAge: config.maxAge))
    }

    private func record(_ state: BackupState) {
        try? FileSystem.writeAtomically(StateDirectory.encode(state), to: Self.statePath(app), mode: 0o600)
    }

    private static func seconds(_ value: Double) -> String {
        "\(Int(value.rounded(.up)))s"
    }
}
