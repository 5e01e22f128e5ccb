import Shared
import Platform

extension StateDirectory {
    /// Finished deploys whose files are kept beyond those that must be (see ``pruneDeploys(app:running:)``).
    static let keptDeploys = 20

    /// Removes the journal, plan, request and log of old deploys, and what they set aside (the untracked files
    /// a checkout displaced, a forced deploy's patch): every request leaves some, refused ones too, and
    /// nothing else ever removes them.
    ///
    /// Kept: the deploys whose snapshot is still kept and the last deploy, the newest ``keptDeploys`` others,
    /// and whatever their age the one `running` now, the holder of the lock, the claimant of the turn and any
    /// deploy whose journal has no result yet (its worker may still be starting, or it is owed a recovery).
    /// Returns the deploys removed.
    @discardableResult
    func pruneDeploys(app: AppConfig, running: String) -> [String] {
        guard let names = try? FileSystem.names(in: deploysDir) else { return [] }
        var files: [String: [String]] = [:]
        for name in names {
            guard let dot = name.firstIndex(of: "."), DeployID.isValid(String(name[..<dot])) else { continue }
            files[String(name[..<dot]), default: []].append(name)
        }
        // Kept over and above the newest ones: the app's history that a restore or a rollback still reads. A
        // deploy's plan names its snapshot, so no manifest (which can be large) is read.
        let snapshots = Set(SnapshotStore(dir: app.snapshots.dir).ids())
        let pinned = Set(files.keys.filter { deploy in
            DeployPlan.load(self, deploy: deploy)?.snapshot.map(snapshots.contains) ?? false
        } + [lastDeploy()?.deploy].compactMap { $0 })
        // Never removed, however old their id: deploys that are running or waiting.
        let live = Set([running, DeployLock.inspect(self)?.deploy, DeployLock.turnClaimant(self)].compactMap { $0 })
        let old = files.keys.filter { !pinned.contains($0) }.sorted(by: >).dropFirst(Self.keptDeploys)
        var removed: [String] = []
        for deploy in old where !live.contains(deploy) {
            let finished = Journal.read(journal(deploy)).contains { if case .result = $0.event { true } else { false } }
            guard finished else { continue }
            // Files and the directories a deploy sets aside (`.saved`, `.tail`).
            for name in files[deploy] ?? [] { FileSystem.removeTree(deploysDir + "/" + name) }
            removed.append(deploy)
        }
        if !removed.isEmpty { FileSystem.syncDirectory(of: journal(running)) }
        return removed
    }
}
