import Foundation
import Shared

extension AgentServer {
    /// `restore`: takes the lock, then restores from a snapshot into the data dirs only.
    func restore(_ request: Command.Restore, app: AppConfig, reply: inout Reply) {
        let state = StateDirectory(path: app.state)
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
        let lock: DeployLock.Held
        do {
            lock = try DeployLock.acquire(state, record: .init(deploy: "restore-\(manifest.info.id)",
                                                                controller: "restore",
                                                                commit: nil, startedAt: Date(), pid: getpid()))
        } catch let busy as DeployLock.Busy {
            reply.emit(.result(.failure(.locked, "app \(app.name) is locked by deploy \(busy.holder.deploy); "
                + "restore once it has finished")))
            return
        } catch {
            reply.emit(.result(.failure(.state, "cannot take the lock: \(error)")))
            return
        }
        defer { lock.release() }
        var warnings: [String] = []
        let started = Date()
        let history = { (outcome: Outcome, detail: String) -> Void in
            HistoryLog(state: state).append(HistoryRecord(
                time: started, action: .restore, who: self.controller, outcome: outcome,
                duration: Date().timeIntervalSince(started), snapshot: manifest.info.id, detail: detail))
        }
        do {
            let outcome = try Restorer(app: app, store: store, manifest: manifest)
                .run(paths: request.paths, force: request.force == true) { warnings.append($0) }
            for warning in warnings { reply.emit(.warning(.init(code: "restore", message: warning))) }
            let said = "restored \(outcome.restored.count) file(s), kept \(outcome.kept.count) that differ, "
                + "\(outcome.unchanged) already identical"
            history(.succeeded, said + (request.paths.map { " (of \($0.joined(separator: ", ")))" } ?? ""))
            reply.emit(.log(.init(stream: "stdout", line: said, source: "restore")))
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
