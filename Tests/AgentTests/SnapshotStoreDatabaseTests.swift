import Foundation
import ShipkeepSandbox
import Shared
import SnapshotArchive
import Testing
@testable import Agent

/// Snapshots of a data dir holding a database that a writer keeps committing to.
@Suite(.serialized, .timeLimit(.minutes(10))) struct SnapshotStoreDatabaseTests {
    /// Five snapshots while the writer commits every 3 ms: each holds a whole database with every row committed
    /// before it began (in WAL mode most of them only in the -wal), and none of the database's companions; once
    /// the writer has stopped, the unchanged database is linked, not copied again.
    @Test(arguments: SQLiteWriter.Mode.allCases)
    func snapshotsOfADatabaseBeingWrittenAreWholeDatabases(mode: SQLiteWriter.Mode) throws {
        let tmp = try TemporaryDirectory()
        try tmp.write("app/out/signals.jsonl", "{\"seq\":1}\n")
        let root = tmp.path + "/app", snapshots = tmp.path + "/snapshots"
        let writer = try SQLiteWriter(path: root + "/out/trades.sqlite", mode: mode, scratch: tmp.path)
        let store = SnapshotStore(dir: snapshots)
        var slowest = 0.0
        for _ in 0..<5 {
            try writer.waitForCommits(beyond: writer.lastCommitted() + 20)
            let committed = writer.lastCommitted()
            let scan = try DataScan.walk(root: root, dataDirs: ["out"])
            #expect(scan.bytesToCopy(against: store.latest()?.index() ?? [:])
                    >= Int64(scan.items.first { $0.path == "out/trades.sqlite" }?.info.st_size ?? 1))
            let measured = try SnapshotBenchCommand.measure(root: root, data: ["out"], snapshots: snapshots)
            slowest = max(slowest, measured.snapshotSeconds)
            let manifest = try #require(store.manifest(measured.snapshot.id))
            try expectWholeDatabase(store, manifest, committed: committed)
        }
        let last = writer.stop()
        let ids = try (0..<2).map { _ in
            try SnapshotBenchCommand.measure(root: root, data: ["out"], snapshots: snapshots).snapshot
        }
        #expect(ids[1].linked == 2 && ids[1].copied == 0, "an unchanged database is linked: \(ids[1])")
        let newest = try #require(store.manifest(ids[1].id))
        try expectWholeDatabase(store, newest, committed: last)
        print("SnapshotStoreDatabaseTests: \(mode): slowest snapshot of a database being written "
            + "\(Int(slowest * 1000)) ms, \(last) rows")
    }

    private func expectWholeDatabase(_ store: SnapshotStore, _ manifest: Manifest, committed: Int) throws {
        let entry = try #require(manifest.entries.first { $0.path == "out/trades.sqlite" })
        #expect(entry.data == .sqlite)
        let companions = manifest.entries.filter { entry in
            SQLiteDatabase.companionSuffixes.contains { entry.path.hasSuffix($0) }
        }
        #expect(companions.isEmpty, "\(companions.map(\.path))")
        let copy = store.filePath(manifest.info.id, entry.path)
        var info = stat()
        #expect(stat(copy, &info) == 0 && info.st_mode & 0o777 == 0o400)
        #expect(Int64(info.st_size) == entry.size)
        let fd = open(copy, O_RDONLY)
        defer { close(fd) }
        #expect(ContentHash.ofPrefix(fd: fd, length: entry.size ?? 0) == entry.hash)
        let contents = try SQLiteWriter.contents(of: copy, immutable: true)
        #expect(contents.integrity == "ok")
        #expect(contents.isContiguous)
        #expect(contents.lost(upTo: committed) == 0, "\(manifest.info.id): \(contents.seqs.count) rows of \(committed)")
    }

    /// A database SQLite cannot back up fails the snapshot, naming the file; no partial snapshot is left.
    @Test func aDamagedDatabaseFailsTheSnapshotNamingIt() throws {
        let tmp = try TemporaryDirectory()
        let root = tmp.path + "/app", snapshots = tmp.path + "/snapshots"
        try tmp.write("app/out/a.jsonl", "line\n")
        var bytes = DataKindRules.sqliteHeader
        bytes += [UInt8](repeating: 0xA5, count: 4096 - bytes.count)
        #expect(FileManager.default.createFile(atPath: root + "/out/trades.sqlite", contents: Data(bytes)))
        #expect {
            try SnapshotBenchCommand.measure(root: root, data: ["out"], snapshots: snapshots)
        } throws: { error in
            "\(error)".contains("cannot snapshot the database out/trades.sqlite: the database is damaged")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: snapshots).isEmpty)
    }
}
