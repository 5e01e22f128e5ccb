import Platform
import Shared

/// Runs one deploy, phase by phase, detached from the SSH session: preflight, snapshot, update, verify,
/// restart, health — and rollback when the new code fails. Every event goes to the deploy's journal, which
/// the serving agent relays to the controller and `attach` replays.
final class DeployWorker {
    let app: AppConfig
    let deploy: String
    let request: Command.Deploy
    /// What the app's history calls this deploy: `deploy`, or `rollback` when `shipkeep rollback` started it.
    let action: HistoryAction
    let state: StateDirectory
    let journal: Journal
    /// Journals a `progress` heartbeat while the deploy is quiet (a long hook), for the relay to pass on.
    private let heartbeat: JournalHeartbeat
    private let git: Git
    private let started = Timestamp.now()
    private var plan: DeployPlan
    private var snapshot: SnapshotInfo?
    private var repairs = 0
    /// The data guard's verifier, made at its first use.
    private var guardVerifier: DataVerifier?
    /// Tracked files with edits that `--force` discards (their patch is saved first).
    private var discarded: [String] = []
    private var phase: (name: DeployPhase, started: ContinuousClock.Instant)?
    /// The deploy that finished, successfully, while this one waited for the lock: its commit went live.
    private var liveWhileWaiting: DeployRecord?
    /// Whether this is the app's first deploy: its work tree was created from `remote_url` in preflight.
    private var firstDeploy = false
    /// What the snapshot's `info.json` says took it: the action, or for a `.snapshot` who asked for it
    /// (`manual` over the protocol, `schedule` from `shipkeep-agent snapshot`).
    private let origin: String

    /// Seconds a fetch may take.
    static let fetchTimeout = 300.0

    /// Prepares the worker; the journal is created at once so that even a refusal is recorded.
    ///
    /// - Throws: ``FileSystemError`` when the state dir cannot be used.
    init(app: AppConfig, deploy: String, request: Command.Deploy, action: HistoryAction = .deploy,
         origin: String = "manual") throws {
        self.app = app
        self.origin = action == .snapshot ? origin : action.rawValue
        self.deploy = deploy
        self.request = request
        self.action = action
        state = StateDirectory(path: app.state)
        journal = try Journal(state: state, deploy: deploy)
        heartbeat = JournalHeartbeat(journal: journal, id: deploy)
        git = Git(tree: app.path, timeout: 120)
        plan = DeployPlan(deploy: deploy, app: app.name, controller: request.controller, startedAt: started)
    }

    /// Runs the deploy to its end and returns the worker's exit status (0 only when the new commit is live
    /// and healthy).
    func run() -> Int32 {
        emit(.started(Event.Started(deploy: deploy, app: app.name, pid: getpid())))
        heartbeat.start()
        // The fault point of preflight waits until the lock is held: a worker killed "in preflight" must be one
        // that recovery can see.
        begin(.preflight, pause: false)
        let lock: DeployLock.Held
        // agent.yml caps the wait, whatever the request asks: a waiting worker is a process and its memory.
        let wait = Double(min(max(request.waitLock ?? 0, 0), app.lock.maxWait))
        let lastBefore = state.lastDeploy()?.deploy
        var waited = false
        do {
            lock = try DeployLock.acquire(state, record: .init(deploy: deploy, controller: request.controller,
                                                                commit: request.commit ?? request.ref,
                                                                startedAt: started, pid: getpid()),
                                          wait: wait, inTurn: true) { holder in
                waited = true
                emit(.warning(.init(code: "waiting_for_lock", message: "app \(app.name) is locked by deploy "
                    + "\(holder.deploy)\(holder.commit.map { " (commit \($0.prefix(12)))" } ?? ""); waiting up to "
                    + "\(Int(wait))s for it to finish")))
            }
        } catch let superseded as DeployLock.Superseded {
            return finish(DeployFailure(outcome: .superseded, code: .superseded,
                                        message: "deploy \(deploy) was superseded by deploy \(superseded.by), a newer "
                                            + "request for \(app.name), while it waited for the lock (at most one "
                                            + "deploy waits per app); nothing was changed"), lock: nil)
        } catch let busy as DeployLock.Busy {
            let holder = busy.holder
            let by = holder.controller.map { " by \($0)" } ?? ""
            let commit = holder.commit.map { " (commit \($0.prefix(12)))" } ?? ""
            return finish(DeployFailure(outcome: .locked, code: .locked,
                                        message: "app \(app.name) is locked by deploy \(holder.deploy)\(commit), "
                                            + "started at \(Self.format(holder.startedAt))\(by); wait for it or "
                                            + "follow it with `shipkeep attach`"), lock: nil)
        } catch {
            return finish(.refused(.state, "cannot take the lock in \(app.state): \(error)"), lock: nil)
        }
        if let stale = lock.stale {
            let recovery = Recovery(app: app).recover(stale.deploy)
            emit(.warning(.init(code: "recovered", message: recovery.message ?? "recovered deploy \(stale.deploy)")))
        }
        if waited, let last = state.lastDeploy(), last.deploy != lastBefore, last.outcome == .succeeded,
           !last.commit.isEmpty {
            liveWhileWaiting = last
        }
        FaultPoint.pauseIfRequested(state: state, phase: DeployPhase.preflight.rawValue)
        // The grown files' chunks are read and hashed while preflight waits for git; the snapshot takes them.
        if let previous = SnapshotStore(dir: app.snapshots.dir).latest() {
            ChunkProofsAhead.start(root: app.path, manifest: previous)
        }
        do {
            if action == .snapshot { try snapshotOnly() } else { try runPhases() }
            return finish(nil, lock: lock)
        } catch let failure as DeployFailure {
            return finish(failure, lock: lock)
        } catch {
            return finish(DeployFailure(outcome: .failed, code: .internal, message: "\(error)"), lock: lock)
        }
    }

    private func runPhases() throws {
        let (target, scan) = try preflight()
        try refuseDowngrade(to: target)
        try takeSnapshot(scan)
        do {
            try update(to: target)
            try verify()
            captureTail()
            begin(.restart)
            let services = Services(app: app, onLine: streamLine)
            if let failure = services.restartAll() { throw RollbackReason(failure) }
            end()
            begin(.health)
            if let unchecked = HealthChecker.uncheckedWarning(app) { emit(.warning(unchecked)) }
            var checker = HealthChecker(app: app, services: services)
            checker.dataGuard = { [unowned self] depth in guardData(depth) }
            let unhealthy = checker.wait()
            // What the units logged while they were checked: why one that crashed did.
            services.streamJournals()
            if let failure = unhealthy {
                throw RollbackReason("unhealthy: \(failure)")
            }
            end()
        } catch let reason as RollbackReason {
            fail(detail: reason.message)
            try rollback(because: reason.message)
        }
    }

    /// A snapshot on its own (`shipkeep snapshot`, a timer): the lock is held, nothing is updated or restarted.
    private func snapshotOnly() throws {
        plan.snapshotOnly = true
        try plan.save(state)
        let head: GitHead?
        do {
            head = try git.head()
        } catch {
            throw DeployFailure.refused(.workTree, "\(app.path) is not a usable git checkout: \(error)")
        }
        plan.previousCommit = head?.commit
        let scan = try DataScan.walk(root: app.path, dataDirs: app.data)
        try checkSpace(for: scan)
        try plan.save(state)
        end(detail: head.map { "snapshot of \(app.name) at \($0.commit)" } ?? "snapshot of \(app.name)")
        try takeSnapshot(scan)
    }

    /// Refuses when the snapshot of `scan` would not fit, with a margin, in the snapshot filesystem.
    private func checkSpace(for scan: DataScan) throws {
        let store = SnapshotStore(dir: app.snapshots.dir)
        let needed = scan.bytesToCopy(against: store.latest()?.index() ?? [:])
        try FileSystem.makeDirectories(app.snapshots.dir)
        if let space = DiskSpace.measure(app.snapshots.dir) {
            let margin = Int64(16 << 20) + space.total / 100
            if needed + margin > space.free {
                throw DeployFailure.refused(.noSpace, "the snapshot needs \(ByteCount.format(needed)) plus a "
                    + "margin of \(ByteCount.format(margin)) but \(space.measured) has \(ByteCount.format(space.free)) free; "
                    + "free space or lower snapshots.keep")
            }
        }
    }

    /// A deploy that waited while another made a commit live must not undo it: when its own target is that
    /// commit or an ancestor of it (two laptops, the older push waiting), it ends superseded, nothing changed.
    private func refuseDowngrade(to target: String) throws {
        guard let last = liveWhileWaiting, target == last.commit || git.isAncestor(target, of: last.commit) else {
            return
        }
        let relation = target == last.commit ? "the same commit" : "an ancestor of it"
        throw DeployFailure(outcome: .superseded, code: .superseded,
                            message: "deploy \(deploy) was superseded by deploy \(last.deploy), which made "
                                + "\(last.commit.prefix(12)) live while this one waited for the lock; "
                                + "\(target.prefix(12)) is \(relation), so deploying it would undo that. Nothing "
                                + "was changed; deploy it without waiting to roll back on purpose")
    }

    // MARK: - Phases

    /// Checks everything before any change; returns the exact target commit and the scan of the data dirs
    /// (which the snapshot then takes).
    private func preflight() throws -> (String, DataScan) {
        let head = try prepareWorkTree()
        plan.previousCommit = head?.commit
        do {
            try EnvFile(app: app).check()
        } catch {
            throw DeployFailure.refused(.envFile, "\(error)")
        }
        // Files the live commit tracks inside a data dir are data now: the bot may write to them.
        let trackedData = try git.trackedPaths(in: nil, under: app.data)
        let changed = ((try? git.changedTrackedPaths()) ?? []).filter { path in
            !app.data.contains { AppConfig.contains($0, path) }
        }
        if !changed.isEmpty && request.force != true {
            throw DeployFailure.refused(.dirty, "\(changed.count) tracked file(s) were modified on the VM "
                + "(\(Self.sample(changed))); "
                + "commit them in the repository, or deploy with --force to discard them (their edits are saved "
                + "as a patch first)")
        }
        discarded = changed
        let target = try resolveTarget()
        plan.targetCommit = target
        let tracked = try git.trackedPaths(in: target, under: app.data)
        if !tracked.isEmpty {
            throw DeployFailure.refused(.trackedData, "the target commit \(target.prefix(12)) tracks \(tracked.count) "
                + "path(s) inside a data dir (\(tracked.prefix(3).joined(separator: ", "))); git would overwrite data "
                + "there. Remove them from the repository (git rm --cached) first")
        }
        if !trackedData.isEmpty {
            emit(.warning(.init(code: "untracked_data", message: "the live commit tracks \(trackedData.count) path(s) "
                + "inside a data dir (\(Self.sample(trackedData))) and the target does not: they stay on disk "
                + "untouched (snapshotted first) and are no longer tracked")))
        }
        // On a first deploy none exists yet; the update creates them.
        for (dir, path) in zip(app.data, app.dataPaths)
        where !firstDeploy && (try? FileSystem.lstatIfExists(path)) == nil {
            emit(.warning(.init(code: "missing_data_dir", message: "data dir \(dir) does not exist in \(app.path): "
                + "nothing is snapshotted for it; check agent.yml's data: for a typo")))
        }
        let blocking = try git.trackedNonDirectories(in: target, above: app.data)
        if !blocking.isEmpty {
            throw DeployFailure.refused(.trackedData, "the target commit \(target.prefix(12)) tracks "
                + "\(blocking.joined(separator: ", ")) as a file or link, but it holds a data dir; git would delete the "
                + "data below it. Make it a directory in the repository again")
        }
        try askGate()
        let scan = try DataScan.walk(root: app.path, dataDirs: app.data)
        try checkSpace(for: scan)
        try plan.save(state)
        end(detail: head.map { target == $0.commit ? "\(target) (already live)" : "\(target) (was \($0.commit))" }
            ?? "\(target) (first deploy: \(app.path) created from "
                + "\(request.ship != nil ? "the shipped bundle" : "remote_url"))")
        return (target, scan)
    }

    /// The commit checked out now; nil on a first deploy, for which the work tree is created (see
    /// ``Git/FirstDeploy``) and the deploy's fetch then brings the commits.
    private func prepareWorkTree() throws -> GitHead? {
        if let found = Git.firstDeploy(at: app.path) {
            let what = found == .absent ? "does not exist" : found == .empty ? "is empty" : "has no commit checked out"
            // A shipped first deploy brings every object it needs in its bundle: no remote is needed.
            let url = app.remoteURL
            guard url != nil || request.ship != nil else {
                throw DeployFailure.refused(.workTree, "\(app.path) \(what) and agent.yml names no remote_url for "
                    + "\(app.name) to clone it from: add remote_url: (the repository's URL) to the app in agent.yml, "
                    + "deploy with --ship (and ship: true in agent.yml), or clone it there by hand")
            }
            do {
                try git.initialize(remote: app.remote, url: url, branch: app.branch)
            } catch {
                throw DeployFailure.refused(.clone, "\(app.path) \(what) and cannot be created for the first deploy: "
                    + "\(error)")
            }
            firstDeploy = true
            return nil
        }
        do {
            return try git.head()
        } catch {
            throw DeployFailure.refused(.workTree, "\(app.path) is not a usable git checkout: \(error)")
        }
    }

    /// agent.yml's `gate:`, last in preflight (every refusal is known by then, and nothing has changed): waits
    /// while it says busy, and refuses the deploy when it still does at `gate_timeout`.
    private func askGate() throws {
        if let refusal = RestartGate.ask(app, ignore: request.ignoreGate == true, phase: .preflight, emit: emit) {
            throw DeployFailure.refused(.gateBusy, refusal)
        }
    }

    /// The exact commit to deploy, fetched and checked by ``DeployRule`` (which commits a deploy key can put live).
    private func resolveTarget() throws -> String {
        let rule = DeployRule(app: app, git: git, live: plan.previousCommit, state: state)
        if request.ship != nil { return try shippedTarget(rule) }
        do {
            if let commit = request.commit {
                guard Git.isCommitID(commit) else {
                    throw DeployFailure.refused(.badCommit, "\"\(commit)\" is not a commit id (4 to 64 hex digits)")
                }
                // The live commit and the one before it (rollback) need no fetch: they deploy with the remote down.
                if let found = git.commitIfPresent(commit), rule.wasLive(found) { return found }
                try rule.fetch(timeout: Self.fetchTimeout)
                guard let found = git.commitIfPresent(commit) else {
                    let also = app.allowRefs.isEmpty ? "" : " or on \(app.allowRefs.joined(separator: ", "))"
                    throw DeployFailure.refused(.unknownCommit, "commit \(commit) is not on "
                        + "\(app.remote)/\(app.branch)\(also); push it first")
                }
                try rule.check(found, source: .commit)
                return found
            }
            if let ref = request.ref {
                guard git.isValidRef(ref), let candidates = DeployRule.candidates(for: ref) else {
                    throw DeployFailure.refused(.badRef, "\"\(ref)\" is not a branch or tag: name refs/heads/…, "
                        + "refs/tags/… or a bare branch or tag name")
                }
                var failure: GitError?
                for candidate in candidates {
                    do {
                        let found = try git.fetchRef(remote: app.remote, ref: candidate, timeout: Self.fetchTimeout)
                        try rule.check(found, source: .ref(candidate))
                        return found
                    } catch let error as GitError {
                        failure = error
                    }
                }
                throw failure ?? GitError(arguments: ["fetch"], message: "no branch or tag \(ref)")
            }
            try rule.fetch(timeout: Self.fetchTimeout)
            let tip = try git.commit(of: "refs/remotes/\(app.remote)/\(app.branch)")
            try rule.check(tip, source: .commit)
            return tip
        } catch let error as GitError {
            let what = firstDeploy ? "cannot clone \(app.name) from \(app.remote) (remote_url) for its first deploy"
                : "cannot fetch from \(app.remote)"
            throw DeployFailure.refused(.fetch, "\(what): git: \(error.wholeStderr) — if the VM has no credential "
                + "for the repository, deploy with --ship, which sends the commit over this SSH session instead")
        }
    }

    /// The commit of a `deploy --ship`, from the bundle the serving agent received: imported only once git has
    /// verified it, then checked by ``DeployRule`` like any other; no fetch. The bundle is removed either way.
    private func shippedTarget(_ rule: DeployRule) throws -> String {
        let bundle = state.bundle(deploy)
        defer { unlink(bundle) }
        guard let commit = request.commit, Git.isCommitID(commit) else {
            throw DeployFailure.refused(.badCommit, "a shipped deploy names the full id of the commit it ships")
        }
        if let refusal = DeployRule.shipRefusal(app) { throw refusal }
        do {
            try git.importBundle(bundle, commit: commit, deploy: deploy, timeout: Self.fetchTimeout)
        } catch let error as GitError {
            git.dropIncoming(deploy: deploy)
            throw DeployFailure.refused(.shipRejected, "git on the VM refused the shipped bundle (\(error.message)); "
                + "nothing was changed. Ship again; if the VM lacks what the bundle builds on, its clone lost commits")
        }
        do {
            guard let found = git.commitIfPresent(commit), found == commit.lowercased() else {
                throw DeployFailure.refused(.shipRejected, "the shipped bundle does not hold commit "
                    + "\(commit.prefix(12))")
            }
            try rule.check(found, source: .shipped)
            try git.keepShipped(found, deploy: deploy)
            return found
        } catch {
            git.dropIncoming(deploy: deploy)
            throw error
        }
    }

    private func takeSnapshot(_ scan: DataScan) throws {
        begin(.snapshot)
        let store = SnapshotStore(dir: app.snapshots.dir)
        do {
            let manifest = try store.create(root: app.path, dataDirs: app.data, kinds: app.kinds, scan: scan,
                                            deploy: deploy, commit: plan.previousCommit, origin: origin,
                                            afterFirstCopy: {
                FaultPoint.pauseIfRequested(state: state, phase: "snapshot-copy")
            }) { files, bytes in
                emit(.progress(.init(phase: .snapshot, done: Int64(files), total: Int64(scan.fileCount), unit: "files")))
                emit(.progress(.init(phase: .snapshot, done: bytes, total: scan.byteCount, unit: "bytes")))
            }
            ChunkProofsAhead.cancelAll()
            snapshot = manifest.info
            plan.snapshot = manifest.info.id
            try plan.save(state)
            // Retention runs at the end, once this snapshot's outcome is known (see finish).
            let info = manifest.info
            end(detail: "\(info.files) files, \(ByteCount.format(info.bytes)): \(info.linked) linked, \(info.copied) copied "
                + "(\(ByteCount.format(info.copiedBytes)))")
        } catch let error as SnapshotError {
            fail(detail: error.message)
            throw DeployFailure.refused(error.noSpace ? .noSpace : .snapshot,
                                        "snapshot failed, nothing was changed: \(error.message)")
        }
    }

    private func update(to target: String) throws {
        begin(.update)
        do {
            if !discarded.isEmpty {
                let patch = try git.uncommittedPatch(excluding: app.data)
                try FileSystem.writeAtomically(Array(patch.utf8), to: state.patch(deploy))
                emit(.warning(.init(code: "discarded_edits", message: "--force discards edits of \(discarded.count) "
                    + "tracked file(s) (\(Self.sample(discarded))); they are saved in \(state.patch(deploy)) "
                    + "(apply with git apply)")))
            }
            let untracked = (try? git.untrackedFiles(excluding: app.protectedPaths)) ?? []
            if !untracked.isEmpty {
                emit(.warning(.init(code: "untracked", message: "\(untracked.count) untracked file(s) outside the data "
                    + "dirs are kept as they are (\(Self.sample(untracked))); add them to .gitignore or to a data dir "
                    + "to silence this")))
            }
            try checkout(target)
            if firstDeploy {
                // The bot's first run finds its data dirs, as on every later deploy.
                for path in app.dataPaths { try FileSystem.makeDirectories(path, mode: 0o755) }
            }
        } catch let error as RollbackReason {
            throw error
        } catch {
            throw RollbackReason("git could not check out \(target.prefix(12)): \(error)")
        }
        for hook in app.hooks.afterUpdate {
            if let failure = Services(app: app, onLine: streamLine).run(hook, name: "hook", timeout: Double(app.hooks.timeout),
                                                                        what: "after_update") {
                throw RollbackReason(failure)
            }
        }
        end(detail: target)
    }

    private func verify() throws {
        begin(.verify)
        guard let outcome = try verifyData(reportingProgress: true) else {
            throw RollbackReason("the snapshot \(plan.snapshot ?? "?") is gone")
        }
        end(detail: "\(outcome.checkedFiles) files verified, \(outcome.repairs.count) repaired")
    }

    /// Verifies the data dirs against this deploy's snapshot and repairs them, one warning per repair.
    /// Returns nil when the snapshot is missing.
    private func verifyData(reportingProgress: Bool) throws -> DataVerifier.Outcome? {
        let store = SnapshotStore(dir: app.snapshots.dir)
        guard let id = plan.snapshot, let manifest = store.manifest(id) else { return nil }
        let files = Int64(manifest.info.files)
        let bytes = manifest.info.bytes
        let outcome = try DataVerifier(root: app.path, store: store, manifest: manifest, deploy: deploy).run { checked, hashed in
            guard reportingProgress else { return }
            emit(.progress(.init(phase: .verify, done: Int64(checked), total: files, unit: "files")))
            emit(.progress(.init(phase: .verify, done: hashed, total: bytes, unit: "bytes")))
        }
        for repair in outcome.repairs { emit(.warning(.init(code: "repaired", message: repair.message))) }
        repairs += outcome.repairs.count
        return outcome
    }

    /// Keeps what the old app appended since the snapshot, for a rollback that must undo the new code's damage.
    private func captureTail() {
        let store = SnapshotStore(dir: app.snapshots.dir)
        guard let id = plan.snapshot, let manifest = store.manifest(id) else { return }
        do {
            try AppendedTail(dir: state.tail(deploy)).capture(root: app.path, manifest: manifest)
        } catch {
            emit(.warning(.init(code: "tail", message: "cannot keep what was appended since the snapshot (\(error)); "
                + "a rollback would restore the snapshot's bytes only")))
        }
    }

    /// The data guard: what is damaged now against this deploy's snapshot, one line per file. It runs at every
    /// health attempt, so the verifier (and its index of the manifest) is made once.
    private func guardData(_ depth: DataVerifier.Depth) -> [String] {
        if guardVerifier == nil {
            let store = SnapshotStore(dir: app.snapshots.dir)
            guard let id = plan.snapshot, let manifest = store.manifest(id) else { return [] }
            guardVerifier = DataVerifier(root: app.path, store: store, manifest: manifest, deploy: deploy)
        }
        var hashed: Int64 = 0
        let found = (try? guardVerifier?.inspect(depth, hashed: &hashed)) ?? []
        return found.filter(\.repairable).map { $0.describe("after the restart") }
    }

    /// Restores from the snapshot (and what the old app appended before the restart) what the new code
    /// damaged, moving what it wrote aside whole: it still runs and may hold the files open. One warning per
    /// file; returns their paths.
    private func repairAfterNewCode() -> [String] {
        let store = SnapshotStore(dir: app.snapshots.dir)
        guard let id = plan.snapshot, let manifest = store.manifest(id) else { return [] }
        let verifier = DataVerifier(root: app.path, store: store, manifest: manifest, deploy: deploy)
        do {
            let outcome = try verifier.repairAll(tail: AppendedTail(dir: state.tail(deploy)))
            for repair in outcome.repairs { emit(.warning(.init(code: "restored", message: repair.message))) }
            repairs += outcome.repairs.count
            return outcome.repairs.map(\.path)
        } catch {
            emit(.warning(.init(code: "restore_failed", message: "restoring the data from snapshot \(id) failed: "
                + "\(error); the snapshot is intact, restore it with `shipkeep restore`")))
            return []
        }
    }

    private func rollback(because reason: String) throws {
        guard let previous = plan.previousCommit else {
            guard firstDeploy else { throw DeployFailure(outcome: .failed, code: .failed, message: reason) }
            let target = plan.targetCommit?.prefix(12) ?? "?"
            throw DeployFailure(outcome: .failed, code: .firstDeployUnhealthy,
                                message: "\(reason); this was the first deploy of \(app.name), so there is no earlier "
                                    + "commit to roll back to: the code stays at \(target); fix it and deploy again")
        }
        begin(.rollback)
        let services = Services(app: app, onLine: streamLine)
        do {
            reportDisplaced(try CodeRestore(app: app, deploy: deploy).restore(to: previous, git: git, services: services),
                            commit: previous)
        } catch {
            fail(detail: "\(error)")
            throw DeployFailure(outcome: .failed, code: .rollbackFailed,
                                message: "\(reason); rolling back to \(previous.prefix(12)) failed too: \(error)")
        }
        let restored = repairAfterNewCode()
        let restarted = services.restartAll(resettingStartLimit: true)
        let health = restarted ?? HealthChecker(app: app, services: services).wait()
        if let health {
            fail(detail: health)
            throw DeployFailure(outcome: .failed, code: .rollbackUnhealthy,
                                message: "\(reason); rolled back to \(previous.prefix(12)), but it is not healthy either: \(health)")
        }
        end(detail: previous)
        let data = restored.isEmpty ? "" : "; restored \(restored.joined(separator: ", ")) from snapshot "
            + "\(plan.snapshot ?? "?") (what the new code wrote is kept beside each)"
        throw DeployFailure(outcome: .rolledBack, code: .rolledBack,
                            message: "\(reason); rolled back to \(previous.prefix(12)), which is healthy\(data)")
    }

    /// Checks out `commit` without destroying a file, and says what it kept.
    private func checkout(_ commit: String) throws {
        reportDisplaced(try CodeRestore(app: app, deploy: deploy).checkout(commit, git: git), commit: commit)
    }

    /// Warns about the untracked files a checkout of `commit` saved aside.
    private func reportDisplaced(_ report: Git.CheckoutReport, commit: String) {
        if !report.displaced.isEmpty {
            emit(.warning(.init(code: "displaced", message: "\(report.displaced.count) untracked file(s) stood where "
                + "commit \(commit.prefix(12)) tracks files (\(Self.sample(report.displaced))); copies of them are "
                + "kept in \(state.saved(deploy))")))
        }
    }

    /// Up to five paths, for a message.
    static func sample(_ paths: [String]) -> String {
        paths.prefix(5).joined(separator: ", ") + (paths.count > 5 ? ", …" : "")
    }

    // MARK: - Events

    private func finish(_ failure: DeployFailure?, lock: DeployLock.Held?) -> Int32 {
        ChunkProofsAhead.cancelAll()
        let live = (try? git.head())?.commit
        let outcome = failure?.outcome ?? .succeeded
        let summary = DeploySummary(deploy: deploy, app: app.name, commit: plan.targetCommit,
                                    previousCommit: plan.previousCommit, liveCommit: live, outcome: outcome,
                                    snapshot: snapshot, repairs: repairs, seconds: Timestamp.now() - started,
                                    workerPeakRSS: Self.peakRSS())
        if let failure, phase != nil { fail(detail: failure.message) }
        AppendedTail(dir: state.tail(deploy)).remove()
        // A shipped bundle not imported (the deploy was locked out or superseded) is no use to anyone now.
        unlink(state.bundle(deploy))
        if let lock {
            // A superseded deploy changed nothing and must not become the one `rollback` undoes; nor does a
            // snapshot, which deploys nothing.
            if action != .snapshot && failure?.outcome != .superseded
                && (failure?.outcome != .refused || plan.targetCommit != nil) {
                try? state.recordLastDeploy(DeployRecord(deploy: deploy, commit: plan.targetCommit ?? "",
                                                         previousCommit: plan.previousCommit, startedAt: started,
                                                         finishedAt: .now(), outcome: outcome, message: failure?.message))
            }
            pruneSnapshots(outcome: outcome)
            backUpSnapshot()
            lock.release()
        }
        HistoryLog(state: state).append(HistoryRecord(
            time: started, action: action, who: request.controller, before: plan.previousCommit,
            // A snapshot leaves the code as it was: before and after are the live commit.
            after: action == .snapshot ? plan.previousCommit : plan.targetCommit, outcome: outcome,
            duration: summary.seconds, snapshot: snapshot?.id, deploy: deploy, detail: failure?.message))
        state.pruneDeploys(app: app, running: deploy)
        heartbeat.stop()
        emit(.result(Event.Result(ok: failure == nil, error: failure.map { WireError(code: $0.code, message: $0.message) },
                                  deploy: summary)))
        // The snapshots the retention set aside; a worker killed meanwhile leaves them to the next snapshot.
        if lock != nil { SnapshotStore(dir: app.snapshots.dir).removePruned() }
        return failure == nil ? 0 : 1
    }

    /// Records this snapshot's outcome, then applies the retention: an unsuccessful deploy's snapshot is counted
    /// apart and pushes out no successful one. Under the lock, so no other snapshot is being made.
    private func pruneSnapshots(outcome: Shared.Outcome) {
        let store = SnapshotStore(dir: app.snapshots.dir)
        if let snapshot { store.recordOutcome(snapshot.id, outcome: outcome) }
        // Set aside now, removed once the result is out (see finish): the deploy does not wait for it.
        let pruned = store.prune(RetentionPolicy(app.snapshots), deferringRemoval: true)
        if !pruned.isEmpty {
            emit(.log(.init(stream: "stdout", line: "pruned \(pruned.count) snapshot(s) the retention does not keep: "
                + Self.sample(pruned), source: "snapshot")))
        }
    }

    /// The off-VM copy of this snapshot (agent.yml `backup:`), still under the lock so that no later snapshot's
    /// retention removes it meanwhile. Its failure is a warning: the result and the exit status stay as they are.
    private func backUpSnapshot() {
        guard let backup = app.backup, let snapshot, SnapshotStore(dir: app.snapshots.dir).info(snapshot.id) != nil
        else { return }
        OffsiteBackup(app: app, config: backup.restic, emit: { self.emit($0) }).run(snapshot)
    }

    private func begin(_ name: DeployPhase, pause: Bool = true) {
        phase = (name, ContinuousClock.now)
        emit(.phase(.init(name: name, state: .started)))
        if pause { FaultPoint.pauseIfRequested(state: state, phase: name.rawValue) }
    }

    private func end(detail: String? = nil) {
        guard let current = phase else { return }
        emit(.phase(.init(name: current.name, state: .completed, detail: detail,
                          seconds: current.started.secondsElapsed)))
        phase = nil
    }

    private func fail(detail: String? = nil) {
        guard let current = phase else { return }
        emit(.phase(.init(name: current.name, state: .failed, detail: detail,
                          seconds: current.started.secondsElapsed)))
        phase = nil
    }

    private func emit(_ event: Event) {
        journal.append(event, id: deploy)
    }

    private func streamLine(_ source: String, _ stream: String, _ line: String) {
        emit(.log(.init(stream: stream, line: String(line.prefix(4096)), source: source)))
    }

    /// This process's peak resident set size (VmHWM in /proc/self/status), in bytes.
    static func peakRSS() -> Int64? {
        guard let status = FileSystem.read("/proc/self/status").map({ String(decoding: $0, as: UTF8.self) }),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Int64(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kib * 1024
    }

    static func format(_ date: Timestamp) -> String {
        date.iso8601
    }
}

/// A failure after the code was changed: the deploy must roll back. The message says why.
struct RollbackReason: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
