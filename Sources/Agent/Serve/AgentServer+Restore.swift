import Platform
import Shared

extension AgentServer {
    /// `restore`: takes the lock, then restores from a snapshot (or, with `backup`, from a restic backup) into the
    /// data dirs only.
    func restore(_ request: Command.Restore, app: AppConfig, reply: inout Reply) {
        if let backup = request.backup {
            restoreBackup(backup, request: request, app: app, reply: &reply)
            return
        }
        let store = SnapshotStore(dir: app.snapshots.dir)
        if let invalid = Self.invalidSnapshot(request.snapshot) ?? Self.invalidPaths(request.paths) {
            reply.emit(.result(.failure(invalid.code, invalid.description)))
            return
        }
        // `latest` names the newest complete snapshot; the history and the lock name the id it was.
        guard let manifest = store.resolve(request.snapshot).flatMap(store.manifest) else {
            let ids = store.list().map(\.info.id).suffix(5).joined(separator: ", ")
            reply.emit(.result(.failure(.unknownSnapshot, "app \(app.name) has no complete snapshot \"\(request.snapshot)\""
                + (ids.isEmpty ? "" : " (newest: \(ids))"))))
            return
        }
        guard let lock = lockForRestore(app, deploy: "restore-\(manifest.info.id)", reply: &reply) else { return }
        defer { lock.release() }
        putBack(request, app: app, store: store, manifest: manifest, reply: &reply)
    }

    /// Takes the app's lock for a restore, or answers why not (`locked`, `state`) and returns nil.
    func lockForRestore(_ app: AppConfig, deploy: String, reply: inout Reply) -> DeployLock.Held? {
        do {
            return try DeployLock.acquire(StateDirectory(path: app.state),
                                          record: .init(deploy: deploy, controller: "restore", commit: nil,
                                                        startedAt: .now(), pid: getpid()))
        } catch let busy as DeployLock.Busy {
            reply.emit(.result(.failure(.locked, "app \(app.name) is locked by deploy \(busy.holder.deploy); "
                + "restore once it has finished")))
        } catch {
            reply.emit(.result(.failure(.state, "cannot take the lock: \(error)")))
        }
        return nil
    }

    /// Puts `manifest`'s files from `store` back through the ``Restorer`` (path safety, newer data kept unless
    /// `force`), records it in the history and answers. The caller holds the lock. `source` names where the
    /// snapshot came from when it is not the snapshot dir (a restic backup).
    func putBack(_ request: Command.Restore, app: AppConfig, store: SnapshotStore, manifest: Manifest,
                 source: String? = nil, reply: inout Reply) {
        let state = StateDirectory(path: app.state)
        var warnings: [String] = []
        let started = Timestamp.now()
        let from = source.map { " (from \($0))" } ?? ""
        let history = { (outcome: Outcome, detail: String) -> Void in
            HistoryLog(state: state).append(HistoryRecord(
                time: started, action: .restore, who: self.controller, outcome: outcome,
                duration: Timestamp.now() - started, snapshot: manifest.info.id, detail: detail + from))
        }
        do {
            let outcome = try Restorer(app: app, store: store, manifest: manifest)
                .run(paths: request.paths, force: request.force == true) { warnings.append($0) }
            for warning in warnings { reply.emit(.warning(.init(code: "restore", message: warning))) }
            let said = "restored \(outcome.restored.count) file(s), kept \(outcome.kept.count) that differ, "
                + "\(outcome.unchanged) already identical"
            history(.succeeded, said + (request.paths.map { " (of \($0.joined(separator: ", ")))" } ?? ""))
            reply.emit(.log(.init(stream: "stdout", line: said + from, source: "restore")))
            reply.emit(.result(.success))
        } catch let refusal as Restorer.Refusal {
            history(.refused, refusal.description)
            reply.emit(.result(.failure(.refused, refusal.description)))
        } catch {
            history(.failed, "\(error)")
            reply.emit(.result(.failure(.restoreFailed, "\(error)")))
        }
    }
}
