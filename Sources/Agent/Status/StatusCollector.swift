import Platform
import Shared

/// Reads the state of an app on this VM for `status`: code, data, disk, lock and the last deploy, runs the checks
/// the deploy's health phase runs, and judges it OK, WARNING or CRITICAL with the reasons.
struct StatusCollector {
    /// Below this share of free space a disk is a warning.
    static let warningFreeRatio = 0.10
    /// Below this share of free space a disk is critical: the next snapshot may not fit.
    static let criticalFreeRatio = 0.03

    /// A verdict and the sentence that explains it, collected as the status is read.
    typealias Reason = (health: Health, text: String)

    /// Collects the status of `app`.
    func collect(_ app: AppConfig) -> AppStatus {
        var reasons: [Reason] = []
        let git = Git(tree: app.path, timeout: 30)
        var head: GitHead?
        var dirty: Bool?
        var dirtyPaths: [String] = []
        do {
            head = try git.head()
            let changed = try git.changedTrackedPaths()
            dirty = !changed.isEmpty
            dirtyPaths = Array(changed.prefix(20))
            if !changed.isEmpty {
                let sample = changed.prefix(3).joined(separator: ", ") + (changed.count > 3 ? ", …" : "")
                reasons.append((.warning, "\(changed.count) tracked file(s) differ from HEAD: \(sample)"))
            }
        } catch let error as GitError {
            reasons.append((.critical, "the work tree \(app.path) cannot be read as a git checkout (\(error.message))"))
        } catch {
            reasons.append((.critical, "the work tree \(app.path) cannot be read as a git checkout (\(error))"))
        }

        let data = zip(app.data, app.dataPaths).map { relative, absolute -> DataDirStatus in
            guard let stats = DirectoryStats.measure(absolute) else {
                return DataDirStatus(path: relative, exists: false, bytes: 0, files: 0, newestMtime: nil)
            }
            return DataDirStatus(path: relative, exists: true, bytes: stats.bytes, files: stats.files,
                                 newestMtime: stats.newestMtime)
        }

        let state = StateDirectory(path: app.state)
        let lock = DeployLock.inspect(state)
        if let lock, !lock.alive {
            reasons.append((.warning, "deploy \(lock.deploy) died holding the lock; the next agent start recovers it"))
        }
        // A live deploy is restarting the services of a half-updated tree: its own health phase judges them, and
        // a probe judging them meanwhile would page someone at every deploy. A dead holder updates nothing.
        var skipped: String?
        if let lock, lock.alive {
            skipped = "deploy \(lock.deploy) holds the lock: its own health phase checks the services (checks skipped)"
        }
        var checks = skipped == nil ? StatusChecks(app: app).run() : []
        checks += dataChecks(app, data: data, reasons: &reasons)
        for check in checks where !check.ok && check.kind != .data {
            reasons.append((.critical, check.message ?? "\(check.kind.rawValue) check \(check.name) failed"))
        }

        let disks = diskStatus(app, reasons: &reasons)
        let lastDeploy = state.lastDeploy()
        if let lastDeploy, lastDeploy.outcome != .succeeded {
            let what = lastDeploy.message.map { ": \($0)" } ?? ""
            reasons.append((.warning, "last deploy \(lastDeploy.deploy) \(lastDeploy.outcome.words)\(what)"))
        }

        let snapshots = SnapshotStore(dir: app.snapshots.dir).count()
        let backup = BackupCheck(app: app).judge(snapshots: snapshots, reasons: &reasons)
        var status = AppStatus(
            name: app.name, path: app.path, branch: app.branch, head: head, dirty: dirty, dirtyPaths: dirtyPaths,
            data: data, disks: disks, lock: lock, lastDeploy: lastDeploy,
            health: reasons.map(\.health).max() ?? .ok,
            // Worst first, and in the order found among equals: the first reason is what the first line names.
            reasons: reasons.enumerated().sorted { ($0.element.health, $1.offset) > ($1.element.health, $0.offset) }
                .map(\.element.text),
            snapshots: snapshots,
            checks: checks, checksSkipped: skipped
        )
        status.backup = backup
        return status
    }

    /// The data guard's cheap check, as status can make it between deploys: every data dir is there. One that
    /// the newest snapshot holds and that is gone now is data lost (CRITICAL); one never snapshotted may simply
    /// not be written yet (WARNING).
    private func dataChecks(_ app: AppConfig, data: [DataDirStatus], reasons: inout [Reason]) -> [CheckResult] {
        let store = SnapshotStore(dir: app.snapshots.dir)
        let newest = store.ids().last
        return data.map { dir in
            guard !dir.exists else { return CheckResult(kind: .data, name: dir.path, ok: true, seconds: 0) }
            let snapshotted = newest.map { (try? FileSystem.lstatIfExists(store.filePath($0, dir.path))) != nil }
                ?? false
            let message = snapshotted
                ? "data dir \(dir.path) is missing (snapshot \(newest!) holds it: `shipkeep restore` brings it back)"
                : "data dir \(dir.path) does not exist"
            reasons.append((snapshotted ? .critical : .warning, message))
            return CheckResult(kind: .data, name: dir.path, ok: false, seconds: 0, message: message)
        }
    }

    /// Free space on the filesystem of each data dir, of the state dir and of the snapshot dir; a filesystem
    /// short of space is one reason, naming every role on it.
    private func diskStatus(_ app: AppConfig, reasons: inout [Reason]) -> [DiskStatus] {
        var disks: [DiskStatus] = []
        var filesystems: [(id: UInt64, free: Int64, total: Int64, roles: [String])] = []
        let places = zip(app.data, app.dataPaths).map { ("data", Optional($0), $1) }
            + [("state", nil, app.state), ("snapshots", nil, app.snapshots.dir)]
        for (role, dir, path) in places {
            guard let space = DiskSpace.measure(path) else { continue }
            disks.append(DiskStatus(role: role, dir: dir, path: space.measured, freeBytes: space.free,
                                    totalBytes: space.total))
            let name = dir.map { "data dir \($0)" } ?? "\(role) dir"
            if let index = filesystems.firstIndex(where: { $0.id == space.filesystem }) {
                filesystems[index].roles.append(name)
            } else {
                filesystems.append((space.filesystem, space.free, space.total, [name]))
            }
        }
        for filesystem in filesystems where filesystem.total > 0 {
            let ratio = Double(filesystem.free) / Double(filesystem.total)
            let text = "the disk of the \(filesystem.roles.joined(separator: ", ")) has "
                + "\(ByteCount.format(filesystem.free)) free (\(Int(ratio * 100))%)"
            if ratio < Self.criticalFreeRatio {
                reasons.append((.critical, text))
            } else if ratio < Self.warningFreeRatio {
                reasons.append((.warning, text))
            }
        }
        return disks
    }
}
