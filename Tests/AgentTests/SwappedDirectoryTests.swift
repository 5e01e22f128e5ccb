import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared
import struct ShipkeepSandbox.ReliabilityRecord

/// A directory of a data dir swapped for a link out of it while a restore runs — after the restore checked the
/// path, before it writes there: nothing is read or written where the link points.
@Suite(.timeLimit(.minutes(10))) struct SwappedDirectoryTests {
    private let tmp: TemporaryDirectory
    private let app: AppConfig
    private var outside: String { tmp.path + "/outside" }
    private var root: String { tmp.path + "/app" }

    init() throws {
        tmp = try TemporaryDirectory()
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    data: [out]\n    state: \(tmp.path)/state\n"
        app = try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
        try tmp.write("outside/secret.txt", "outside the data dir\n")
        try tmp.write("app/out/sub/history.jsonl", String(repeating: "{\"seq\":1}\n", count: 100))
        try tmp.write("app/out/sub/deeper/old.jsonl", String(repeating: "{\"seq\":2}\n", count: 10))
    }

    private var store: SnapshotStore { SnapshotStore(dir: app.snapshots.dir) }

    @Test func aDirectorySwappedForALinkMidRestoreRedirectsNothing() throws {
        let scan = try DataScan.walk(root: root, dataDirs: app.data)
        let manifest = try store.create(root: root, dataDirs: app.data, scan: scan, deploy: "d-test",
                                        commit: nil) { _, _ in }
        // Both files now differ from the snapshot, so a forced restore writes each of them.
        try tmp.write("app/out/sub/history.jsonl", "newer\n")
        try tmp.write("app/out/sub/deeper/old.jsonl", "newer\n")
        var restorer = Restorer(app: app, store: store, manifest: manifest)
        var swapped = false
        restorer.beforeWriting = { path in
            guard path.hasPrefix("out/sub/"), !swapped else { return }
            // The restore has checked `out/sub`; now it is a link to a directory outside, shaped like the original.
            swapped = true
            rename(root + "/out/sub", root + "/out/sub.moved")
            symlink(outside, root + "/out/sub")
            try? tmp.write("outside/history.jsonl", "outside\n")
            try? tmp.write("outside/deeper/old.jsonl", "outside\n")
        }
        var warnings: [String] = []
        let outcome = try? restorer.run(paths: ["out"], force: true) { warnings.append($0) }
        #expect(swapped)

        let names = Set(try FileManager.default.subpathsOfDirectory(atPath: outside))
        let expected: Set = ["secret.txt", "history.jsonl", "deeper", "deeper/old.jsonl"]
        let contents = try ["history.jsonl", "deeper/old.jsonl"].map {
            try String(contentsOfFile: outside + "/" + $0, encoding: .utf8)
        }
        let untouched = names == expected && contents == ["outside\n", "outside\n"]
        #expect(names == expected, "nothing created where the link points")
        #expect(contents == ["outside\n", "outside\n"], "nothing overwritten where the link points")
        let restored = outcome?.restored ?? []
        #expect(!restored.contains { $0.hasPrefix("out/sub/") }, "\(restored)")
        let reported = warnings.contains { $0.contains("became a symbolic link during the restore") }
        #expect(reported, "\(warnings)")
        let moved = try String(contentsOfFile: root + "/out/sub.moved/history.jsonl", encoding: .utf8)
        #expect(moved == "newer\n", "what was in the swapped dir is where the swap put it")

        try ReliabilityRecord.hostileInput(
            id: "20-3", scenario: "a data dir's sub dir swapped for a link out of it in the middle of a forced "
                + "restore, "
                + "after the restore checked it",
            injection: "rename(2) and symlink(2) just before the restore writes below the dir",
            outcome: (untouched ? "nothing written where the link points" : "written where the link points")
                + "; \(restored.filter { $0.hasPrefix("out/sub/") }.count) files restored below the link"
                + (reported ? "; the restore warns that `out/sub` became a link" : "; no warning"),
            test: "SwappedDirectoryTests/aDirectorySwappedForALinkMidRestoreRedirectsNothing()").write()
    }

    @Test func aDirectorySwappedForALinkBetweenTheScanAndTheCopyIsNotCopied() throws {
        let scan = try DataScan.walk(root: root, dataDirs: app.data)
        // The scan saw `out/sub` as a directory; before the copy reads it, it points outside.
        try tmp.write("outside/history.jsonl", "outside\n")
        #expect(rename(root + "/out/sub", root + "/out/sub.moved") == 0)
        #expect(symlink(outside, root + "/out/sub") == 0)
        var copiedOutside = false
        var refused = false
        do {
            let manifest = try store.create(root: root, dataDirs: app.data, scan: scan, deploy: "d-test",
                                            commit: nil) { _, _ in }
            let copy = FileManager.default.contents(atPath: store.filePath(manifest.info.id, "out/sub/history.jsonl"))
            copiedOutside = copy == Data("outside\n".utf8)
        } catch let error as SnapshotError {
            refused = error.message.contains("out/sub")
        }
        #expect(!copiedOutside, "the snapshot holds what the link points to")
        #expect(refused, "the snapshot fails naming the link")
        #expect(store.list().isEmpty, "no snapshot is left")

        try ReliabilityRecord.hostileInput(
            id: "20-4", scenario: "a data dir's sub dir swapped for a link out of it between the snapshot's scan and "
                + "its copy",
            injection: "rename(2) and symlink(2) after the scan",
            outcome: (copiedOutside ? "what the link points to copied into the snapshot" : "nothing copied from "
                + "where the link points") + (refused ? "; the snapshot fails naming `out/sub`" : "; snapshot taken"),
            test: "SwappedDirectoryTests/aDirectorySwappedForALinkBetweenTheScanAndTheCopyIsNotCopied()").write()
    }
}
