import Platform
import Shared

/// Brings an app back to a consistent state after its deploy worker died mid-deploy (`kill -9`, OOM, a
/// reboot): partial snapshots removed, code at the commit before the deploy, data verified and repaired
/// against the deploy's snapshot, services restarted if the restart had begun (or, for systemd units, which start
/// by themselves, if the code on disk had changed). The caller holds the lock.
struct Recovery {
    let app: AppConfig

    /// Recovers from the death of `deploy`, records the outcome, and closes the deploy's journal with a result.
    @discardableResult
    func recover(_ deploy: String) -> DeployRecord {
        let state = StateDirectory(path: app.state)
        let store = SnapshotStore(dir: app.snapshots.dir)
        store.removePartials()
        let events = Journal.read(state.journal(deploy))
        let plan = DeployPlan.load(state, deploy: deploy)
        let phases = events.compactMap { message -> Event.Phase? in
            if case .phase(let phase) = message.event { return phase }
            return nil
        }
        let reached = Set(phases.filter { $0.state == .started }.map(\.name))
        let last = phases.last?.name ?? .preflight
        var done: [String] = []
        var repairs = 0
        let git = Git(tree: app.path, timeout: 300)

        if reached.contains(.update) || reached.contains(.rollback), let previous = plan?.previousCommit {
            // systemd units start by themselves (at boot, after a power cut; on Restart=) from the code on disk:
            // if the deploy had changed it, a unit may run the new code although the restart never began.
            let codeChanged = (try? git.head())?.commit != previous
            let unitsMayRunIt = codeChanged && app.services.contains { if case .systemd = $0 { true } else { false } }
            // The same reset as a rollback's, with the same protect list (see CodeRestore).
            let services = Services(app: app, onLine: { _, _, _ in })
            do {
                _ = try CodeRestore(app: app, deploy: deploy).restore(to: previous, git: git, services: services)
                done.append("code reset to \(previous.prefix(12))")
            } catch {
                done.append("could not reset the code to \(previous.prefix(12)): \(error)")
            }
            if let id = plan?.snapshot, let manifest = store.manifest(id) {
                let verifier = DataVerifier(root: app.path, store: store, manifest: manifest, deploy: deploy)
                // Once the new code has run, what it damaged is moved aside whole (it may still be running and
                // writing); before that, the old app is the writer and repairs happen in place.
                let newCodeRan = reached.contains(.restart) || reached.contains(.rollback)
                let verified = try? newCodeRan
                    ? verifier.repairAll(tail: AppendedTail(dir: state.tail(deploy)))
                    : verifier.run { _, _ in }
                repairs = verified?.repairs.count ?? 0
                done.append(verified.map { "data verified (\($0.checkedFiles) files, \($0.repairs.count) repaired)" }
                            ?? "data verification failed")
            }
            if reached.contains(.restart) || reached.contains(.rollback) || unitsMayRunIt {
                let failure = services.restartAll(resettingStartLimit: true)
                done.append(failure.map { "restart failed: \($0)" } ?? "services restarted")
            }
        } else {
            done.append("nothing had changed")
        }

        AppendedTail(dir: state.tail(deploy)).remove()
        let message = "deploy \(deploy) died during \(last); " + done.joined(separator: ", ")
        let live = (try? git.head())?.commit
        let record = DeployRecord(deploy: deploy, commit: plan?.targetCommit ?? "", previousCommit: plan?.previousCommit,
                                  startedAt: plan?.startedAt ?? Timestamp.now(), finishedAt: .now(), outcome: .recovered,
                                  message: message)
        // A lock left by a restore or a service action (`restart-…`) names no deploy: it has no journal and no
        // plan, and must not replace the record of the last deploy (which `rollback` reads), nor enter the history
        // as a recovered deploy.
        let wasDeploy = plan != nil || !events.isEmpty
        if wasDeploy {
            if plan?.snapshotOnly != true { try? state.recordLastDeploy(record) }
            HistoryLog(state: state).append(HistoryRecord(
                time: .now(), action: .recovery, who: "shipkeep-agent recovery", before: plan?.previousCommit,
                after: live, outcome: .recovered, snapshot: plan?.snapshot, deploy: deploy, detail: message))
        }
        let hasResult = events.contains { if case .result = $0.event { true } else { false } }
        if wasDeploy, !hasResult, let journal = try? Journal(state: state, deploy: deploy) {
            journal.append(.warning(.init(code: "recovered", message: message)), id: deploy)
            let summary = DeploySummary(deploy: deploy, app: app.name, commit: plan?.targetCommit,
                                        previousCommit: plan?.previousCommit, liveCommit: live, outcome: .recovered,
                                        snapshot: nil, repairs: repairs,
                                        seconds: Timestamp.now().timeIntervalSince(plan?.startedAt ?? Timestamp.now()))
            journal.append(.result(.init(ok: false, error: WireError(code: .recovered, message: message), deploy: summary)),
                           id: deploy)
        }
        return record
    }

    /// Recovers `app` if its lock names a deploy whose worker died. Returns what was done, or nil.
    @discardableResult
    static func runIfNeeded(_ app: AppConfig) -> DeployRecord? {
        let state = StateDirectory(path: app.state)
        guard let holder = DeployLock.inspect(state), !holder.alive else { return nil }
        let record = DeployLock.Record(deploy: holder.deploy, controller: "shipkeep-agent recovery",
                                       commit: nil, startedAt: .now(), pid: getpid())
        guard let lock = try? DeployLock.acquire(state, record: record) else { return nil }
        defer { lock.release() }
        guard let stale = lock.stale else { return nil }
        return Recovery(app: app).recover(stale.deploy)
    }
}
