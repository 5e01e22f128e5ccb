import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared
import struct ShipkeepSandbox.ReliabilityRecord

/// Symbolic links planted inside a data dir (by the app, a hook, or anyone who can write there) pointing
/// outside it: snapshots keep them as links, and neither verify nor restore ever writes through them.
@Suite(.timeLimit(.minutes(10))) struct PlantedSymlinkTests {
    private let tmp: TemporaryDirectory
    private let app: AppConfig
    private var outside: String { tmp.path + "/outside" }
    private var root: String { tmp.path + "/app" }

    init() throws {
        tmp = try TemporaryDirectory()
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    data: [out, logs]\n    state: \(tmp.path)/state\n"
        app = try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
        try tmp.write("outside/secret.txt", "outside the data dir\n")
        try tmp.write("app/out/sub/history.jsonl", String(repeating: "{\"seq\":1}\n", count: 100))
        try tmp.write("app/logs/bot.log", "hello\n")
        // A directory link and a file link, both pointing out of the data dir.
        #expect(symlink(outside, root + "/logs/evil") == 0)
        #expect(symlink(outside + "/secret.txt", root + "/logs/passwd") == 0)
    }

    private var store: SnapshotStore { SnapshotStore(dir: app.snapshots.dir) }

    private func snapshot() throws -> Manifest {
        let scan = try DataScan.walk(root: root, dataDirs: app.data)
        return try store.create(root: root, dataDirs: app.data, scan: scan, deploy: "d-test", commit: nil) { _, _ in }
    }

    /// Whether the directory the links point to holds exactly what it held before; expects that it does.
    @discardableResult
    private func outsideIsUntouched() throws -> Bool {
        let names = try FileManager.default.contentsOfDirectory(atPath: outside)
        let text = try String(contentsOfFile: outside + "/secret.txt", encoding: .utf8)
        #expect(names == ["secret.txt"])
        #expect(text == "outside the data dir\n")
        return names == ["secret.txt"] && text == "outside the data dir\n"
    }

    /// "nothing written outside" or what the test saw instead, for the doc.
    private func outside(untouched: Bool) -> String {
        untouched ? "nothing written where the links point" : "the outside dir changed"
    }

    /// Writes this suite's row of docs/RELIABILITY.md's `hostile-input` table.
    private func record(_ index: Int, _ scenario: String, _ injection: String, _ outcome: String,
                        _ test: String) throws {
        try ReliabilityRecord.hostileInput(id: "09-\(index)", scenario: scenario, injection: injection,
                                           outcome: outcome, test: "PlantedSymlinkTests/\(test)()").write()
    }

    @Test func aSnapshotKeepsPlantedLinksAsLinksAndCopiesNothingFromOutside() throws {
        let manifest = try snapshot()
        let links = manifest.entries.filter { $0.kind == .symlink }
        #expect(Set(links.map(\.path)) == ["logs/evil", "logs/passwd"])
        #expect(!manifest.entries.contains { $0.path.hasPrefix("logs/evil/") }, "never walked through the link")
        let stored = store.filePath(manifest.info.id, "logs/passwd")
        let info = try #require(try FileSystem.lstatIfExists(stored))
        #expect(info.st_mode & S_IFMT == S_IFLNK, "the snapshot holds the link, not the file it points to")
        #expect(manifest.info.files == 2)

        let walkedThrough = manifest.entries.contains { $0.path.hasPrefix("logs/evil/") }
        try record(0, "links planted in a data dir pointing out of it (`logs/evil` → a dir, `logs/passwd` → a file)",
                   "symlink(2) in the data dir, then a snapshot",
                   "\(links.count) links kept as links, \(manifest.info.files) files copied (the data dir's own); "
                       + (walkedThrough ? "walked through a link" : "never walked through a link"),
                   "aSnapshotKeepsPlantedLinksAsLinksAndCopiesNothingFromOutside")
    }

    @Test func verifyNeverRepairsThroughADirectoryReplacedByALink() throws {
        let manifest = try snapshot()
        // After the snapshot, the dir holding data is swapped for a link to the outside, its file now "missing".
        try FileManager.default.removeItem(atPath: root + "/out/sub")
        #expect(symlink(outside, root + "/out/sub") == 0)
        let outcome = try DataVerifier(root: root, store: store, manifest: manifest, deploy: "d-test").run { _, _ in }
        let untouched = try outsideIsUntouched()
        let reported = outcome.repairs.contains { $0.message.contains("out/sub is now a symbolic link") }
        #expect(reported, "\(outcome.repairs)")

        try record(1, "a data dir's sub dir swapped for a link out of it after the snapshot",
                   "rm and symlink(2), then the post-deploy verify",
                   (reported ? "verify reports `out/sub is now a symbolic link`" : "verify says nothing of the link")
                       + "; " + outside(untouched: untouched),
                   "verifyNeverRepairsThroughADirectoryReplacedByALink")
    }

    @Test func restoreRecreatesAPlantedLinkButNeverWritesThroughOne() throws {
        let manifest = try snapshot()
        try FileManager.default.removeItem(atPath: root + "/logs/evil")
        let restorer = Restorer(app: app, store: store, manifest: manifest)
        var warnings: [String] = []
        _ = try restorer.run(paths: ["logs"], force: true) { warnings.append($0) }
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: root + "/logs/evil")
        #expect(target == outside, "restored as the link it was, not as a copy of what it points to")
        try outsideIsUntouched()

        // Below a link: the snapshot holds nothing there (the walk never entered it), so nothing to restore.
        let below = #expect(throws: Restorer.Refusal.self) {
            _ = try restorer.run(paths: ["logs/evil/secret.txt"], force: true) { _ in }
        }
        // The links themselves: already there, so left as they are; never opened for writing.
        for path in ["logs/passwd", "logs/evil"] {
            let outcome = try restorer.run(paths: [path], force: true) { _ in }
            #expect(outcome.restored.isEmpty, "\(path)")
        }
        // The data dir's sub dir swapped for a link: a forced restore of its file is refused, not redirected.
        try FileManager.default.removeItem(atPath: root + "/out/sub")
        #expect(symlink(outside, root + "/out/sub") == 0)
        let swapped = #expect(throws: Restorer.Refusal.self) {
            _ = try restorer.run(paths: ["out"], force: true) { _ in }
        }
        let untouched = try outsideIsUntouched()

        try record(2, "restore with planted links: a removed link, a path below a link, a sub dir swapped for a link",
                   "forced `restore` from a snapshot holding the links",
                   (target == outside ? "the link restored as a link" : "the link restored as something else")
                       + "; below a link: " + (below == nil ? "not refused" : "refused")
                       + "; through the swapped dir: " + (swapped == nil ? "not refused" : "refused")
                       + "; " + outside(untouched: untouched),
                   "restoreRecreatesAPlantedLinkButNeverWritesThroughOne")
    }

    @Test func aManifestWhosePathsClimbOutIsNeverUsed() throws {
        let manifest = try snapshot()
        var tampered = manifest
        tampered.entries[tampered.entries.count - 1].path = "logs/../../outside/secret.txt"
        let path = app.snapshots.dir + "/" + manifest.info.id + "/" + Manifest.fileName
        chmod(path, 0o600)
        try Data(tampered.encoded()).write(to: URL(fileURLWithPath: path))
        let refused = store.manifest(manifest.info.id) == nil
        #expect(refused)
        #expect(store.list().isEmpty)

        try record(3, "a snapshot manifest whose path climbs out (`logs/../../outside/secret.txt`)",
                   "the manifest rewritten on disk",
                   (refused ? "the manifest is rejected" : "the manifest is read")
                       + "; the snapshot listed: \(store.list().count)",
                   "aManifestWhosePathsClimbOutIsNeverUsed")
    }

    @Test func aDataDirReachedThroughALinkIsNotSnapshotted() throws {
        try tmp.write("outside/data/x.jsonl", "outside\n")
        #expect(symlink(outside, root + "/var") == 0)
        let scan = try DataScan.walk(root: root, dataDirs: ["var/data"])
        #expect(scan.items.isEmpty, "\(scan.items.map(\.path))")

        try record(4, "a data dir (`var/data`) reached through a link (`var` → outside)",
                   "symlink(2), then the snapshot scan", "\(scan.items.count) entries scanned: nothing snapshotted",
                   "aDataDirReachedThroughALinkIsNotSnapshotted")
    }
}
