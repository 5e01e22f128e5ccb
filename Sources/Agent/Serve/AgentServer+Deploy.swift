import Shared
import Platform

extension AgentServer {
    /// Starts a deploy in a detached worker and relays its journal until the result.
    ///
    /// The relay passes the journal through: each event goes out with the journal's own `seq` (under this
    /// request's id), heartbeats included, which the worker journals itself. Events this request already sent
    /// (a shipped deploy's `ship_ready` and upload progress) are journaled first, under the same numbers, so
    /// the worker's events continue after them and a replay shows them too.
    func startDeploy(_ request: Command.Deploy, app: AppConfig, action: HistoryAction = .deploy, reply: inout Reply,
                     deploy: String = DeployPlan.newID(), sent: [Event] = []) {
        let state = StateDirectory(path: app.state)
        let pid: pid_t
        do {
            if !sent.isEmpty {
                let journal = try Journal(state: state, deploy: deploy)
                for event in sent { journal.append(event, id: deploy) }
            }
            // The request goes in a private file, not in argv, which every local user can read; the deploy id in
            // argv is what tells a worker from a later process with its pid (see isWorker).
            try DeployRequestFile.write(request, deploy: deploy, state: state)
            let log = try FileSystem.open(state.log(deploy), O_WRONLY | O_CREAT | O_APPEND, 0o600)
            defer { close(log) }
            pid = try ProcessRunner.spawnDetached([Self.executable, "worker", "--config", configFile, "--app", app.name,
                                                   "--deploy", deploy, "--action", action.rawValue],
                                                  environment: ChildEnvironment.app(app),
                                                  output: log)
        } catch {
            unlink(state.bundle(deploy))
            Self.closeJournal(deploy, state: state,
                              with: .failure(.state, "cannot start the deploy worker: \(error)"), reply: &reply)
            return
        }
        relay(deploy, app: app, from: reply.seq + 1, reply: &reply) { Self.isRunning(pid) }
    }

    /// Replays (and follows, while it runs) a deploy's events: those numbered `fromSeq` and later.
    func attach(_ request: Command.Attach, app: AppConfig, reply: inout Reply) {
        let state = StateDirectory(path: app.state)
        let holder = DeployLock.inspect(state)
        guard let deploy = request.deploy ?? holder?.deploy ?? state.latestDeploy() else {
            reply.emit(.result(.failure(.noDeploy, "app \(app.name) has no deploy to attach to yet")))
            return
        }
        if let invalid = Self.invalidDeploy(deploy, deployOnly: true) {
            reply.emit(.result(.failure(invalid.code, invalid.description)))
            return
        }
        guard FileSystem.exists(state.journal(deploy)) else {
            reply.emit(.result(.failure(.noDeploy, "app \(app.name) has no deploy \"\(deploy)\"")))
            return
        }
        let worker = Self.workerPID(deploy, state: state)
        relay(deploy, app: app, from: max(1, request.fromSeq ?? 1), reply: &reply) {
            // A worker still waiting for the lock is running too, though the lock does not name it yet.
            if let worker, Self.isWorker(worker, of: deploy) { return true }
            let now = DeployLock.inspect(state)
            return now?.alive == true && now?.deploy == deploy
        }
    }

    /// Forwards the journal of `deploy` from event `first` on until its result; when its worker is gone without
    /// one, recovers the app (which journals the result) and forwards what recovery recorded.
    private func relay(_ deploy: String, app: AppConfig, from first: Int, reply: inout Reply,
                       isRunning: () -> Bool) {
        let state = StateDirectory(path: app.state)
        var next = first
        let forward = { (message: EventMessage, reply: inout Reply) in
            next = message.seq + 1
            reply.forward(message)
        }
        if JournalFollower(path: state.journal(deploy), fromSeq: next)
            .follow(isRunning: isRunning, forward: { forward($0, &reply) }) != nil { return }
        // The worker died without a result: recover the app now.
        Recovery.runIfNeeded(app)
        if DeployLock.inspect(state)?.deploy != deploy {
            Self.closeUnstarted(deploy, state: state)
        }
        // Another agent may be recovering it (its lock is held): what it journals is relayed when it is done.
        let recovered = JournalFollower(path: state.journal(deploy), fromSeq: next).follow(isRunning: {
            DeployLock.inspect(state).map { $0.alive && $0.deploy == deploy } ?? false
        }, forward: { forward($0, &reply) })
        if recovered == nil {
            // Not journaled: a later recovery (the next agent start) writes the deploy's real end there.
            reply.emit(.result(.failure(.workerDied, "the deploy worker \(deploy) stopped without a result; "
                + "see `shipkeep status` and \(state.log(deploy))")), seq: next)
        }
    }

    /// Ends a deploy that never got a worker: the result goes into its journal when it has one (a shipped
    /// deploy's), and out under the journal's number.
    private static func closeJournal(_ deploy: String, state: StateDirectory, with result: Event.Result,
                                     reply: inout Reply) {
        guard FileSystem.exists(state.journal(deploy)),
              let journal = try? Journal(state: state, deploy: deploy) else {
            reply.emit(.result(result))
            return
        }
        reply.forward(journal.append(.result(result), id: deploy))
    }

    /// A worker that died before it held the lock (while waiting for it, or just started) changed nothing and
    /// left no lock for recovery to find: its journal gets the result it never wrote, so `attach` tells the
    /// truth instead of reporting a worker that needs attention.
    private static func closeUnstarted(_ deploy: String, state: StateDirectory) {
        let events = Journal.read(state.journal(deploy))
        guard !events.contains(where: \.isResult), let journal = try? Journal(state: state, deploy: deploy) else {
            return
        }
        journal.append(.result(.failure(.notStarted, "deploy \(deploy) stopped before it took the lock (its "
            + "worker died; see \(state.log(deploy))); nothing was changed")), id: deploy)
    }

    /// `rollback`: deploys the last commit that was live before the live one and differed from it (see
    /// ``DeployRecord/rollbackTarget``), so a redeploy of the live commit does not hide it. The worker's
    /// ``DeployRule`` lets that commit through without reachability or signature (it was live, and this agent
    /// recorded it), and without a fetch; it re-reads the record under the lock, so a request cannot name a
    /// different "previous" commit.
    func rollback(app: AppConfig, reply: inout Reply) {
        let state = StateDirectory(path: app.state)
        guard let last = state.lastDeploy(), let previous = last.rollbackTarget else {
            reply.emit(.result(.failure(.nothingToRollBack, "no deploy of \(app.name) recorded a commit that was "
                + "live before the live one, so there is nothing to roll back to; deploy a commit with --commit "
                + "instead")))
            return
        }
        let who = controller ?? "rollback of \(last.deploy)"
        startDeploy(Command.Deploy(app: app.name, commit: previous, controller: who), app: app, action: .rollback,
                    reply: &reply)
    }

    /// `unlock`: releases a lock only if its worker is dead, recovering the app first.
    func unlock(app: AppConfig, deploy: String, reply: inout Reply) {
        if let invalid = Self.invalidDeploy(deploy, deployOnly: false) {
            reply.emit(.result(.failure(invalid.code, invalid.description)))
            return
        }
        let state = StateDirectory(path: app.state)
        guard let holder = DeployLock.inspect(state) else {
            reply.emit(.result(.success))
            return
        }
        guard holder.deploy == deploy else {
            reply.emit(.result(.failure(.notHolder, "the lock of \(app.name) is held by \(holder.deploy), not \(deploy)")))
            return
        }
        guard !holder.alive else {
            reply.emit(.result(.failure(.running, "deploy \(deploy) is running (pid \(holder.pid)); it releases the "
                + "lock when it ends — follow it with `shipkeep attach`")))
            return
        }
        if let record = Recovery.runIfNeeded(app), let message = record.message {
            reply.emit(.warning(.init(code: "recovered", message: message)))
        }
        reply.emit(.result(.success))
    }

    /// `snapshots`: the complete snapshots, oldest first.
    func listSnapshots(app: AppConfig, reply: inout Reply) {
        // info.json, not the manifest: it alone records the outcome, and it is small.
        let list = SnapshotStore(dir: app.snapshots.dir).infos()
        reply.emit(.snapshots(Event.SnapshotList(app: app.name, snapshots: list)))
        reply.emit(.result(.success))
    }

    /// The worker's pid, from the `started` event of its journal.
    static func workerPID(_ deploy: String, state: StateDirectory) -> pid_t? {
        for message in Journal.read(state.journal(deploy)) {
            if case .started(let started) = message.event { return started.pid }
        }
        return nil
    }

    /// Whether `pid` is alive and still the worker of `deploy` (not a later process that reused the pid).
    static func isWorker(_ pid: pid_t, of deploy: String) -> Bool {
        guard let data = FileSystem.read("/proc/\(pid)/cmdline") else { return false }
        let words = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return words.contains("worker") && words.contains(deploy)
    }

    static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// This executable, for starting workers.
    static var executable: String {
        FileSystem.symbolicLinkTarget("/proc/self/exe") ?? CommandLine.arguments[0]
    }
}
