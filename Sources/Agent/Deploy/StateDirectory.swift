import Platform
import Shared

/// The files an app keeps in its state dir on the VM (never /tmp): the lock and the turn, the deploys'
/// journals, plans, requests and logs, and the last deploy's record. Created 0700.
struct StateDirectory {
    /// The state dir from `agent.yml`.
    let path: String

    /// The file the deploy lock (`flock`) is taken on; it also names the holder.
    var lockFile: String { path + "/lock" }
    /// The newest deploy to claim the app's turn to run (see ``DeployLock``).
    var turnFile: String { path + "/turn" }
    /// The record of the last finished deploy.
    var lastDeployFile: String { path + "/last-deploy.json" }
    /// Journals, plans, requests and logs, one set per deploy.
    var deploysDir: String { path + "/deploys" }

    /// The event journal of a deploy.
    func journal(_ deploy: String) -> String { deploysDir + "/" + deploy + ".jsonl" }
    /// The plan (commits, snapshot) of a deploy.
    func plan(_ deploy: String) -> String { deploysDir + "/" + deploy + ".json" }
    /// Where a deploy keeps the untracked files its checkout would have overwritten.
    func saved(_ deploy: String) -> String { deploysDir + "/" + deploy + ".saved" }
    /// What the app appended to its append-only files between a deploy's snapshot and its restart.
    func tail(_ deploy: String) -> String { deploysDir + "/" + deploy + ".tail" }
    /// The edits of tracked files that a forced deploy discarded, as a patch.
    func patch(_ deploy: String) -> String { deploysDir + "/" + deploy + ".patch" }
    /// The request `serve` hands the deploy's worker (see ``DeployRequestFile``).
    func request(_ deploy: String) -> String { deploysDir + "/" + deploy + ".request" }
    /// The git bundle shipped for `deploy` (`deploy --ship`), removed once imported.
    func bundle(_ deploy: String) -> String { deploysDir + "/" + deploy + ".bundle" }
    /// The worker's own output (stdout and stderr).
    func log(_ deploy: String) -> String { deploysDir + "/" + deploy + ".log" }

    /// The last finished deploy, or nil when there has been none (or the record cannot be read).
    func lastDeploy() -> DeployRecord? {
        guard let bytes = FileSystem.read(lastDeployFile) else { return nil }
        return try? Self.decode(DeployRecord.self, from: bytes)
    }

    /// Records the last finished deploy (atomically), with the commit `rollback` would go to from it, carried
    /// over from the record it replaces when the deploy did not change the live commit.
    ///
    /// - Throws: ``FileSystemError``.
    func recordLastDeploy(_ record: DeployRecord) throws {
        try FileSystem.writeAtomically(Self.encode(record.withRollbackCommit(after: lastDeploy())), to: lastDeployFile)
    }

    /// The newest deploy journal's id, for `attach` without an id.
    func latestDeploy() -> String? {
        guard let names = try? FileSystem.names(in: deploysDir) else { return nil }
        // An id is `d-TIMESTAMP-RANDOM` with a timestamp to the second: two deploys of one second (a deploy and
        // the rollback right after it) are told apart by when their journals were last written, not by the
        // random part. A snapshot taken on its own (`shipkeep snapshot`, a timer) is not what `attach` follows.
        let candidates = names.filter { $0.hasSuffix(".jsonl") }.map { String($0.dropLast(6)) }
            .filter { DeployPlan.load(self, deploy: $0)?.snapshotOnly != true }
            .map { id in
                let written = (try? FileSystem.lstatIfExists(journal(id))).flatMap { $0 }.map(FileSystem.mtime) ?? 0
                return (id: id, order: (String(id.split(separator: "-").dropFirst().first ?? ""), written))
            }
        return candidates.max { $0.order < $1.order }?.id
    }

    /// Reads what the agent keeps on disk (records, plans, manifests, the lock).
    ///
    /// - Throws: `DecodingError` for bytes that are not such a value.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoding.decode(type, from: bytes)
    }

    /// The encoding for everything the agent keeps on disk: ISO 8601 times, sorted keys, `/` escaped as `\/`
    /// (the bytes `JSONEncoder` wrote there, so files written before and after read and compare the same).
    static func encode(_ value: some Encodable) -> [UInt8] {
        (try? JSONEncoding.encode(value, escapingSlashes: true)) ?? []
    }
}
