import Foundation
import Testing
@testable import Agent
@testable import Shared

/// Symbolic links planted inside a data dir (by the app, a hook, or anyone who can write there) pointing
/// outside it: snapshots keep them as links, and neither verify nor restore ever writes through them.
@Suite(.timeLimit(.minutes(5))) struct PlantedSymlinkTests {
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

    private func outsideIsUntouched() throws {
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["secret.txt"])
        #expect(try String(contentsOfFile: outside + "/secret.txt", encoding: .utf8) == "outside the data dir\n")
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
    }

    @Test func verifyNeverRepairsThroughADirectoryReplacedByALink() throws {
        let manifest = try snapshot()
        // After the snapshot, the dir holding data is swapped for a link to the outside, its file now "missing".
        try FileManager.default.removeItem(atPath: root + "/out/sub")
        #expect(symlink(outside, root + "/out/sub") == 0)
        let outcome = try DataVerifier(root: root, store: store, manifest: manifest, deploy: "d-test").run { _, _ in }
        try outsideIsUntouched()
        #expect(outcome.repairs.contains { $0.message.contains("out/sub is now a symbolic link") },
                "\(outcome.repairs)")
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
        #expect(throws: Restorer.Refusal.self) {
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
        #expect(throws: Restorer.Refusal.self) { _ = try restorer.run(paths: ["out"], force: true) { _ in } }
        try outsideIsUntouched()
    }

    @Test func aManifestWhosePathsClimbOutIsNeverUsed() throws {
        let manifest = try snapshot()
        var tampered = manifest
        tampered.entries[tampered.entries.count - 1].path = "logs/../../outside/secret.txt"
        let path = app.snapshots.dir + "/" + manifest.info.id + "/" + Manifest.fileName
        chmod(path, 0o600)
        try Data(tampered.encoded()).write(to: URL(fileURLWithPath: path))
        #expect(store.manifest(manifest.info.id) == nil)
        #expect(store.list().isEmpty)
    }

    @Test func aDataDirReachedThroughALinkIsNotSnapshotted() throws {
        try tmp.write("outside/data/x.jsonl", "outside\n")
        #expect(symlink(outside, root + "/var") == 0)
        let scan = try DataScan.walk(root: root, dataDirs: ["var/data"])
        #expect(scan.items.isEmpty, "\(scan.items.map(\.path))")
    }
}
