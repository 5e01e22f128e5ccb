import Foundation
import Shared
#if canImport(Glibc)
import Glibc
#endif

extension AgentServer {
    /// Starts a deploy in a detached worker and relays its journal until the result.
    func startDeploy(_ request: Command.Deploy, app: AppConfig, action: HistoryAction = .deploy, reply: inout Reply,
                     deploy: String = DeployPlan.newID()) {
        let state = StateDirectory(path: app.state)
        let pid: pid_t
        do {
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
            reply.emit(.result(.failure(.state, "cannot start the deploy worker: \(error)")))
            return
        }
        let follower = JournalFollower(path: state.journal(deploy))
        var heartbeat = Heartbeat()
        let result = follower.follow(isRunning: { Self.isRunning(pid) }, onIdle: { _ in heartbeat.beat(&reply) }) {
            heartbeat.note($0)
            reply.forward($0)
        }
        if result == nil { finishDead(deploy, app: app, reply: &reply) }
    }

    /// Replays (and follows, while it runs) a deploy's events.
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
        guard FileManager.default.fileExists(atPath: state.journal(deploy)) else {
            reply.emit(.result(.failure(.noDeploy, "app \(app.name) has no deploy \"\(deploy)\"")))
            return
        }
        let follower = JournalFollower(path: state.journal(deploy), fromSeq: max(1, request.fromSeq ?? 1))
        var heartbeat = Heartbeat()
        let worker = Self.workerPID(deploy, state: state)
        let result = follower.follow(isRunning: {
            // A worker still waiting for the lock is running too, though the lock does not name it yet.
            if let worker, Self.isWorker(worker, of: deploy) { return true }
            let now = DeployLock.inspect(state)
            return now?.alive == true && now?.deploy == deploy
        }, onIdle: { _ in heartbeat.beat(&reply) }) {
            heartbeat.note($0)
            reply.forward($0)
        }
        if result == nil { finishDead(deploy, app: app, reply: &reply) }
    }

    /// The worker died without a result: recover the app now and relay what recovery recorded.
    private func finishDead(_ deploy: String, app: AppConfig, reply: inout Reply) {
        let state = StateDirectory(path: app.state)
        Recovery.runIfNeeded(app)
        if DeployLock.inspect(state)?.deploy != deploy {
            Self.closeUnstarted(deploy, state: state)
        }
        let follower = JournalFollower(path: state.journal(deploy), fromSeq: reply.seq + 1)
        if follower.follow(isRunning: { false }, forward: { reply.forward($0) }) == nil {
            reply.emit(.result(.failure(.workerDied, "the deploy worker \(deploy) stopped without a result; "
                + "see `shipkeep status` and \(state.log(deploy))")))
        }
    }

    /// A worker that died before it held the lock (while waiting for it, or just started) changed nothing and
    /// left no lock for recovery to find: its journal gets the result it never wrote, so `attach` tells the
    /// truth instead of reporting a worker that needs attention.
    private static func closeUnstarted(_ deploy: String, state: StateDirectory) {
        let events = Journal.read(state.journal(deploy))
        guard !events.contains(where: { if case .result = $0.event { true } else { false } }),
              let journal = try? Journal(state: state, deploy: deploy) else { return }
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
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let words = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return words.contains("worker") && words.contains(deploy)
    }

    static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// This executable, for starting workers.
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// Tells the controller a deploy is alive while its journal is quiet (a long hook or restart without output):
/// a `progress` event counting the seconds spent in the current phase.
struct Heartbeat {
    private var phase = DeployPhase.preflight
    private var since = Date()

    mutating func note(_ message: EventMessage) {
        if case .phase(let event) = message.event, event.state == .started {
            phase = event.name
            since = Date()
        }
    }

    func beat(_ reply: inout Reply) {
        reply.emit(.progress(.init(phase: phase, done: Int64(Date().timeIntervalSince(since)), total: nil,
                                   unit: "seconds")))
    }
}
