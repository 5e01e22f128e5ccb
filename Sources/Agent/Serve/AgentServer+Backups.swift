import Shared

extension AgentServer {
    /// `backups`: the app's restic backups, newest first.
    func listBackups(app: AppConfig, reply: inout Reply) {
        guard let config = app.backup?.restic else {
            reply.emit(.result(.failure(.noBackup, Self.noBackup(app))))
            return
        }
        let restic = Restic(app: app, config: config)
        do {
            let backups = try restic.list(setup: try restic.setup())
            reply.emit(.backups(Event.BackupList(app: app.name, backups: backups)))
            reply.emit(.result(.success))
        } catch {
            reply.emit(.result(.failure(.backupFailed, "cannot list the backups of \(app.name): \(error.description)")))
        }
    }

    /// `restore` with `backup`: under the app's lock, `restic restore` of the backup into a temporary dir in the
    /// state dir, then the snapshot found there goes back through the same ``Restorer`` as a local one.
    func restoreBackup(_ id: String, request: Command.Restore, app: AppConfig, reply: inout Reply) {
        guard let config = app.backup?.restic else {
            reply.emit(.result(.failure(.noBackup, Self.noBackup(app))))
            return
        }
        guard Restic.isBackupID(id) else {
            reply.emit(.result(.failure(.unknownBackup, "\"\(id)\" is not a backup id: expected latest or 8 to 64 "
                + "hex digits, as `shipkeep backups` lists them")))
            return
        }
        let restic = Restic(app: app, config: config)
        let setup: Restic.Setup
        let backup: BackupInfo
        do {
            setup = try restic.setup()
            let backups = try restic.list(setup: setup)
            let matches = id == "latest" ? Array(backups.prefix(1)) : backups.filter { $0.id.hasPrefix(id) }
            guard matches.count == 1, let match = matches.first else {
                let newest = backups.prefix(3).map { String($0.id.prefix(8)) }.joined(separator: ", ")
                reply.emit(.result(.failure(.unknownBackup, matches.isEmpty
                    ? "app \(app.name) has no backup \"\(id)\"" + (newest.isEmpty ? "" : " (newest: \(newest))")
                    : "\"\(id)\" names \(matches.count) backups; give more of the id")))
                return
            }
            backup = match
        } catch {
            reply.emit(.result(.failure(.backupFailed, "cannot read the backups of \(app.name): \(error.description)")))
            return
        }
        let short = String(backup.id.prefix(8))
        guard let snapshot = backup.snapshot, (try? SnapshotID(validating: snapshot, allowingLatest: false)) != nil else {
            reply.emit(.result(.failure(.unknownBackup, "backup \(short) names no shipkeep snapshot (no "
                + "snapshot: tag); it was not made by shipkeep-agent")))
            return
        }
        guard let lock = lockForRestore(app, deploy: "restore-backup-\(short)", reply: &reply) else { return }
        defer { lock.release() }
        Self.removeRestoreLeftovers(app)
        let temp = app.state + "/\(Self.restorePrefix)\(short)-\(UInt32.random(in: 0...UInt32.max))"
        defer { FileSystem.removeTree(temp) }
        reply.emit(.log(.init(stream: "stdout", line: "fetching backup \(short) (snapshot \(snapshot)) from the "
            + "restic repository", source: "restore")))
        do {
            try FileSystem.makeDirectories(temp)
            try restic.restore(backup, into: temp, setup: setup)
        } catch let failure as Restic.Failure {
            reply.emit(.result(.failure(.backupFailed, "cannot fetch backup \(short): \(failure.description)")))
            return
        } catch {
            reply.emit(.result(.failure(.state, "cannot make \(temp): \(error)")))
            return
        }
        let store = SnapshotStore(dir: temp)
        guard let manifest = store.manifest(snapshot) else {
            reply.emit(.result(.failure(.backupUnusable, "backup \(short) holds no complete snapshot \(snapshot) "
                + "(no usable manifest)")))
            return
        }
        putBack(request, app: app, store: store, manifest: manifest, source: "backup \(short)", reply: &reply)
    }

    /// What a temporary restore dir in the state dir is called before its backup id.
    static let restorePrefix = "restic-restore-"

    /// Removes the temporary dirs of restores that were killed (under the lock, so none is in use).
    static func removeRestoreLeftovers(_ app: AppConfig) {
        let names = (try? DirectoryHandle.open(app.state).names()) ?? []
        for name in names where name.hasPrefix(restorePrefix) {
            FileSystem.removeTree(app.state + "/" + name)
        }
    }

    private static func noBackup(_ app: AppConfig) -> String {
        "app \(app.name) has no off-VM backup: add backup: {restic: {repository: …, password_file: …}} to its "
            + "agent.yml entry"
    }
}
