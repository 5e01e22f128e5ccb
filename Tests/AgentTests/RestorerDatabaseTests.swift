import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared

/// Restoring a database with its companions as one thing, against a real writer process.
@Suite(.serialized, .timeLimit(.minutes(10))) struct RestorerDatabaseTests {
    private let tmp: TemporaryDirectory
    private let app: AppConfig
    private var live: String { tmp.path + "/app/out/trades.sqlite" }
    private var store: SnapshotStore { SnapshotStore(dir: app.snapshots.dir) }

    init() throws {
        tmp = try TemporaryDirectory()
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    data: [out]\n    state: \(tmp.path)/state\n"
        app = try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
        try tmp.write("app/out/signals.jsonl", "{\"seq\":1}\n")
    }

    private func snapshot() throws -> Manifest {
        let scan = try DataScan.walk(root: app.path, dataDirs: app.data)
        return try store.create(root: app.path, dataDirs: app.data, scan: scan, deploy: "d-test",
                                commit: nil) { _, _ in }
    }

    /// The names in the data dir, without the rollback journal a writer creates and deletes at each commit.
    private func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: tmp.path + "/app/out")
            .filter { $0 != "trades.sqlite-journal" }.sorted()
    }

    /// The database is gone but the crashed writer's -wal and -shm are still there: the restore puts the copy
    /// back and moves them aside together, under a new name (a file with a likely name is never overwritten).
    @Test func aMissingDatabaseComesBackWithoutTheStaleWAL() throws {
        let writer = try SQLiteWriter(path: live, mode: .wal, scratch: tmp.path)
        try writer.waitForCommits(beyond: 30)
        let manifest = try snapshot()
        let rows = try SQLiteWriter.contents(of: store.filePath(manifest.info.id, "out/trades.sqlite"),
                                             immutable: true).seqs
        try writer.waitForCommits(beyond: writer.lastCommitted() + 30)
        writer.kill()
        #expect(unlink(live) == 0)
        let taken = live + ".shipkeep-before-restore-\(manifest.info.id)-wal"
        try "someone else's\n".write(toFile: taken, atomically: false, encoding: .utf8)

        var warnings: [String] = []
        let outcome = try Restorer(app: app, store: store, manifest: manifest)
            .run(paths: ["out/trades.sqlite"], force: false) { warnings.append($0) }
        #expect(outcome.restored == ["out/trades.sqlite"])
        // Both under one new name (`…-<random>-wal`, `…-<random>-shm`); a file with a likely name is untouched.
        let prefix = "trades.sqlite.shipkeep-before-restore-\(manifest.info.id)-"
        let all = try names()
        let aside = all.filter { $0.hasPrefix(prefix) && $0 != (taken as NSString).lastPathComponent }
        let stems = Set(aside.map { String($0.dropLast(4)) })
        let companions = aside.allSatisfy { $0.hasSuffix("-wal") || $0.hasSuffix("-shm") }
        #expect(aside.count == 2 && stems.count == 1 && companions, "\(all)")
        #expect(all.filter { !$0.hasPrefix(prefix) } == ["signals.jsonl", "trades.sqlite"])
        #expect(try String(contentsOfFile: taken, encoding: .utf8) == "someone else's\n")
        #expect(warnings.count == 1 && aside.allSatisfy { warnings[0].contains($0) }, "\(warnings)")
        let back = try SQLiteWriter.contents(of: live, immutable: true)
        #expect(back.integrity == "ok" && back.seqs == rows)
    }

    /// A database its writer has open is not replaced, even with force; one that would not be written (kept,
    /// without force) does not stop the restore of the other files.
    @Test func aDatabaseOpenInAProcessIsNotReplaced() throws {
        let writer = try SQLiteWriter(path: live, mode: .rollback, scratch: tmp.path)
        try writer.waitForCommits(beyond: 10)
        let manifest = try snapshot()
        try writer.waitForCommits(beyond: writer.lastCommitted() + 10)
        let before = try names()
        let inode = FileIdentity(path: live)?.inode
        let restorer = Restorer(app: app, store: store, manifest: manifest)
        #expect {
            _ = try restorer.run(paths: nil, force: true) { _ in }
        } throws: { error in
            "\(error)".contains("out/trades.sqlite: it is open in process \(writer.pid) (python3)")
        }
        #expect(try names() == before && FileIdentity(path: live)?.inode == inode)

        #expect(unlink(tmp.path + "/app/out/signals.jsonl") == 0)
        let outcome = try restorer.run(paths: nil, force: false) { _ in }
        #expect(outcome.restored == ["out/signals.jsonl"] && outcome.kept == ["out/trades.sqlite"])
        #expect(writer.isRunning)
        writer.stop()
    }
}
