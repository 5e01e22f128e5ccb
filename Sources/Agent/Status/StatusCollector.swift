import Foundation
import Shared

/// Reads the state of an app on this VM for `status`: code, data, disk, lock and the last deploy, and judges
/// it OK, WARNING or CRITICAL with the reasons.
struct StatusCollector {
    /// Below this share of free space a disk is a warning.
    static let warningFreeRatio = 0.10
    /// Below this share of free space a disk is critical: the next snapshot may not fit.
    static let criticalFreeRatio = 0.03

    /// Collects the status of `app`.
    func collect(_ app: AppConfig) -> AppStatus {
        var reasons: [(Health, String)] = []
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
                reasons.append((.warning, "data dir \(relative) does not exist"))
                return DataDirStatus(path: relative, exists: false, bytes: 0, files: 0, newestMtime: nil)
            }
            return DataDirStatus(path: relative, exists: true, bytes: stats.bytes, files: stats.files,
                                 newestMtime: stats.newestMtime)
        }

        var disks: [DiskStatus] = []
        for (role, path) in [("data", app.path), ("state", app.state)] {
            guard let space = DiskSpace.measure(path) else { continue }
            disks.append(DiskStatus(role: role, path: space.measured, freeBytes: space.free, totalBytes: space.total))
            guard space.total > 0 else { continue }
            let ratio = Double(space.free) / Double(space.total)
            let free = "\(role) disk \(space.measured) has \(ByteCount.format(space.free)) free (\(Int(ratio * 100))%)"
            if ratio < Self.criticalFreeRatio {
                reasons.append((.critical, free))
            } else if ratio < Self.warningFreeRatio {
                reasons.append((.warning, free))
            }
        }

        let state = StateDirectory(path: app.state)
        let lock = DeployLock.inspect(state)
        if let lock, !lock.alive {
            reasons.append((.warning, "deploy \(lock.deploy) died holding the lock; the next agent start recovers it"))
        }
        let lastDeploy = state.lastDeploy()
        if let lastDeploy, lastDeploy.outcome != "succeeded" {
            let what = lastDeploy.message.map { ": \($0)" } ?? ""
            reasons.append((.warning, "last deploy \(lastDeploy.deploy) \(lastDeploy.outcome.replacingOccurrences(of: "_", with: " "))\(what)"))
        }

        return AppStatus(
            name: app.name, path: app.path, branch: app.branch, head: head, dirty: dirty, dirtyPaths: dirtyPaths,
            data: data, disks: disks, lock: lock, lastDeploy: lastDeploy,
            health: reasons.map(\.0).max() ?? .ok,
            reasons: reasons.sorted { $0.0 > $1.0 }.map(\.1),
            snapshots: SnapshotStore(dir: app.snapshots.dir).count()
        )
    }
}
