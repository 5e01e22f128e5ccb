import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
import Shared

// A hang guard, not a speed bound: in a full run on 2 cores these wait behind end-to-end tests that hold the
// test runner's threads, and the time limit counts that wait (a 1-minute limit once ran out so, at 81 s).
@Suite(.timeLimit(.minutes(10))) struct SnapshotStoreTests {
    @Test func idsAreUTCToTheSecondAndSortAsText() {
        #expect(Timestamp.compact(Timestamp(timeIntervalSince1970: 1_795_588_857.9)) == "20261125T064057Z")
        #expect(Timestamp.compact(Timestamp(timeIntervalSince1970: 946_684_799)) == "19991231T235959Z")
        #expect(SnapshotStore.id(for: Timestamp(timeIntervalSince1970: 946_684_799), commit: "0123456789abcdef",
                                 existing: ["19991231T235959Z-01234567"]) == "19991231T235959Z-01234567-2")
        let deploy = DeployPlan.newID(now: Timestamp(timeIntervalSince1970: 946_684_799))
        #expect(deploy.range(of: "^d-19991231T235959Z-[0-9a-f]{4}$", options: .regularExpression) != nil, "\(deploy)")
    }

    /// Manifests are decoded once per process, but one rewritten after it was read — even to the same size
    /// with its old mtime put back — is read and validated again: a manifest whose paths climb out is refused.
    @Test func aManifestRewrittenAfterItWasReadIsReadAgain() throws {
        let tmp = try TemporaryDirectory()
        try tmp.write("app/out/a.jsonl", "line\n")
        let snapshots = tmp.path + "/snapshots"
        let first = try SnapshotBenchCommand.measure(root: tmp.path + "/app", data: ["out"], snapshots: snapshots)
        let store = SnapshotStore(dir: snapshots)
        let id = first.snapshot.id
        #expect(store.list().map(\.info.id) == [id])
        #expect(store.manifest(id) != nil)

        let path = snapshots + "/" + id + "/" + Manifest.fileName
        var before = stat()
        #expect(stat(path, &before) == 0)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let tampered = text.replacingOccurrences(of: "\"out\"", with: "\"/ut\"")
        #expect(tampered != text && tampered.utf8.count == text.utf8.count)
        chmod(path, 0o600)
        try tampered.write(toFile: path, atomically: false, encoding: .utf8)
        var times = [before.st_atim, before.st_mtim]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)

        #expect(store.manifest(id) == nil)
        #expect(store.list().isEmpty)
    }

    /// The outcome recorded in info.json decides which count a snapshot is in: after two successful snapshots,
    /// three unsuccessful ones push out none of them, and `latest` names the newest.
    @Test func recordedOutcomesKeepFailedSnapshotsApart() throws {
        let tmp = try TemporaryDirectory()
        let (dir, good) = try threeSnapshots(tmp)
        let store = SnapshotStore(dir: dir)
        for id in good { store.recordOutcome(id, outcome: .succeeded) }
        #expect(store.info(good[0])?.outcome == .succeeded)
        var failed: [String] = []
        for _ in 0..<3 {
            let id = try SnapshotBenchCommand.measure(root: tmp.path + "/app", data: ["out"], snapshots: dir)
                .snapshot.id
            store.recordOutcome(id, outcome: .rolledBack)
            failed.append(id)
        }
        #expect(store.infos().map { $0.outcome?.rawValue } == ["succeeded", "succeeded", "succeeded", "rolled_back", "rolled_back",
                                                  "rolled_back"])
        #expect(store.prune(RetentionPolicy(keep: 2, keepFailed: 1)) == [good[0], failed[0], failed[1]])
        #expect(store.ids() == [good[1], good[2], failed[2]])
        #expect(store.resolve("latest") == failed[2])
        #expect(store.resolve(good[1]) == good[1])
    }

    /// Three snapshots of unchanged data, taken back to back (so in the same second, as fast deploys are).
    private func threeSnapshots(_ tmp: TemporaryDirectory) throws -> (String, [String]) {
        try tmp.write("app/out/a.jsonl", "line\n")
        let snapshots = tmp.path + "/snapshots"
        var ids: [String] = []
        for _ in 0..<3 {
            ids.append(try SnapshotBenchCommand.measure(root: tmp.path + "/app", data: ["out"], snapshots: snapshots)
                .snapshot.id)
        }
        return (snapshots, ids)
    }

    /// Names from different seconds order the snapshots without reading a manifest; names that share a second
    /// are ordered by when the snapshots were taken, not as text; pruning removes the oldest.
    @Test func snapshotsAreOrderedByTimeAndPrunedOldestFirst() throws {
        let tmp = try TemporaryDirectory()
        let (dir, taken) = try threeSnapshots(tmp)
        let store = SnapshotStore(dir: dir)
        #expect(store.ids() == taken)

        // All three named in one second (a slow machine takes them in two), the newest so that, as text, it
        // sorts between the other two.
        let second = "20240101T000000Z"
        let shared = [second, second + "-5", second + "-0"]
        for (old, new) in zip(taken, shared) { #expect(rename(dir + "/" + old, dir + "/" + new) == 0) }
        #expect(store.ids() == shared)
        #expect(store.latest()?.info.id == taken[2])

        // Distinct seconds: the names alone decide, whatever the manifests say.
        let names = ["20240101T000003Z", "20240101T000001Z", "20240101T000002Z"]
        for (old, new) in zip(shared, names) {
            #expect(rename(dir + "/" + old, dir + "/" + new) == 0)
        }
        #expect(store.ids() == names.sorted())
        #expect(store.prune(keep: 1) == ["20240101T000001Z", "20240101T000002Z"])
        #expect(store.ids() == ["20240101T000003Z"])
    }

    /// A newest snapshot whose manifest is unusable is skipped: the deploy links against the newest good one.
    @Test func theLatestSnapshotSkipsAnUnusableManifest() throws {
        let tmp = try TemporaryDirectory()
        let (dir, taken) = try threeSnapshots(tmp)
        let path = dir + "/" + taken[2] + "/" + Manifest.fileName
        chmod(path, 0o600)
        try "{not json".write(toFile: path, atomically: false, encoding: .utf8)
        let store = SnapshotStore(dir: dir)
        #expect(store.latest()?.info.id == taken[1])
        #expect(store.ids() == taken)
    }

    /// The writer of a snapshot keeps the manifest it wrote instead of decoding it again: what it keeps must be
    /// exactly what a reader decodes from the file (the time in whole seconds, as the file holds it).
    @Test func theManifestASnapshotReturnsIsTheOneAReaderDecodes() throws {
        let tmp = try TemporaryDirectory()
        try tmp.write("app/out/a.jsonl", "line\n")
        try tmp.write("app/out/sub/b.txt", "état \"quoted\"\n")
        let snapshots = tmp.path + "/snapshots"
        _ = try SnapshotBenchCommand.measure(root: tmp.path + "/app", data: ["out"], snapshots: snapshots)
        try tmp.write("app/out/a.jsonl", "line\nline 2\n")
        let second = try SnapshotBenchCommand.measure(root: tmp.path + "/app", data: ["out"], snapshots: snapshots)
        let store = SnapshotStore(dir: snapshots)
        let kept = try #require(store.manifest(second.snapshot.id))
        let decoded = try #require(Manifest.load(snapshots + "/" + second.snapshot.id + "/" + Manifest.fileName))
        #expect(kept == decoded)
        #expect(kept.info == second.snapshot)
        #expect(kept.entries.contains { $0.firstSeen == nil && $0.path == "out/a.jsonl" })
    }

    /// A deploy's retention only renames the snapshots it drops out of sight, and removes their files after its
    /// result: gone from every listing at once, the kept ones whole, and removed by the next snapshot when the
    /// worker died before it could.
    @Test func prunedSnapshotsAreSetAsideAtOnceAndRemovedAfterwards() throws {
        let tmp = try TemporaryDirectory()
        let (dir, taken) = try threeSnapshots(tmp)
        let store = SnapshotStore(dir: dir)
        #expect(store.prune(RetentionPolicy(keep: 1), deferringRemoval: true) == Array(taken.prefix(2)))
        #expect(store.ids() == [taken[2]])
        #expect(store.infos().map(\.id) == [taken[2]])
        let hidden = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }.sorted()
        #expect(hidden == taken.prefix(2).map { ".pruned-" + $0 })
        #expect(try String(contentsOfFile: dir + "/" + taken[2] + "/out/a.jsonl", encoding: .utf8) == "line\n")
        store.removePruned()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [taken[2]])

        // A worker killed before it removed them: the next snapshot does.
        let fourth = try SnapshotBenchCommand.measure(root: tmp.path + "/app", data: ["out"], snapshots: dir)
        #expect(store.prune(RetentionPolicy(keep: 1), deferringRemoval: true) == [taken[2]])
        #expect(FileManager.default.fileExists(atPath: dir + "/.pruned-" + taken[2] + "/manifest.json"))
        let fifth = try SnapshotBenchCommand.measure(root: tmp.path + "/app", data: ["out"], snapshots: dir)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            == [fourth.snapshot.id, fifth.snapshot.id].sorted())
    }
}
