import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent

/// The SQLite wrapper against a real writer process: consistent backups while it commits, in both journal modes,
/// and read-only opens that leave the app's files as they were.
@Suite(.serialized, .timeLimit(.minutes(10))) struct SQLiteDatabaseTests {
    private func names(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    /// Twenty backups taken while a writer commits every 3 ms: each is a whole database holding every row
    /// committed before it began, and the writer never fails.
    @Test(arguments: SQLiteWriter.Mode.allCases)
    func aBackupOfADatabaseBeingWrittenIsWhole(mode: SQLiteWriter.Mode) throws {
        let tmp = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: tmp.path + "/data", withIntermediateDirectories: true)
        let live = tmp.path + "/data/trades.sqlite"
        let writer = try SQLiteWriter(path: live, mode: mode, scratch: tmp.path)
        var slowest = 0.0
        for index in 0..<20 {
            try writer.waitForCommits(beyond: writer.lastCommitted())
            let committed = writer.lastCommitted()
            let copy = tmp.path + "/copy-\(index).sqlite"
            let start = Date()
            try SQLiteDatabase.backup(live, to: copy)
            slowest = max(slowest, Date().timeIntervalSince(start))
            #expect(try SQLiteDatabase(readOnly: copy).integrityCheck() == nil)
            let contents = try SQLiteWriter.contents(of: copy, immutable: true)
            #expect(contents.integrity == "ok")
            #expect(contents.isContiguous)
            #expect(contents.lost(upTo: committed) == 0,
                    "copy \(index): \(contents.seqs.count) rows, \(committed) committed")
        }
        #expect(writer.isRunning, "the writer never failed on a lock")
        let companions = Set(SQLiteDatabase.companionSuffixes.map { "trades.sqlite" + $0 })
        #expect(try Set(names(tmp.path + "/data")).isSubset(of: companions.union(["trades.sqlite"])))
        let last = writer.stop()
        let final = try SQLiteWriter.contents(of: live)
        #expect(final.isContiguous && final.lost(upTo: last) == 0)
        #expect(SQLiteDatabase.quickCheck(path: live) == nil)
        print("SQLiteDatabaseTests: \(mode) backups of a database being written, slowest \(Int(slowest * 1000)) ms, "
            + "\(final.seqs.count) rows")
    }

    /// A WAL database that nobody has open has no -wal or -shm; reading it (checks, a backup) must not leave
    /// them behind, as SQLite's read-only connection does.
    @Test func aClosedWALDatabaseIsReadWithoutCreatingCompanions() throws {
        let tmp = try TemporaryDirectory()
        let live = tmp.path + "/trades.sqlite"
        let writer = try SQLiteWriter(path: live, mode: .wal, scratch: tmp.path)
        try writer.waitForCommits(beyond: 20)
        let last = writer.stop()
        let dir = try names(tmp.path)
        #expect(!dir.contains("trades.sqlite-wal") && !dir.contains("trades.sqlite-shm"), "\(dir)")

        let database = try SQLiteDatabase(readOnly: live)
        #expect(database.isImmutable)
        #expect(try database.quickCheck() == nil)
        #expect(SQLiteDatabase.quickCheck(path: live) == nil)
        try SQLiteDatabase.backup(live, to: tmp.path + "/copy.sqlite")
        #expect(try names(tmp.path) == (dir + ["copy.sqlite"]).sorted(), "nothing but the copy appeared")
        #expect(try SQLiteWriter.contents(of: tmp.path + "/copy.sqlite", immutable: true).lost(upTo: last) == 0)
    }

    /// A writer killed mid-transaction leaves a hot journal, which a read-only connection cannot roll back:
    /// the backup rolls it back in its own copy, and the live files stay as they were for the app to recover.
    @Test func aDatabaseWithAHotJournalIsCopiedRolledBack() throws {
        let tmp = try TemporaryDirectory()
        let live = tmp.path + "/trades.sqlite"
        let crash = """
            import os, sqlite3, sys
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            db.execute("CREATE TABLE trades (seq INTEGER PRIMARY KEY, pair TEXT, payload TEXT)")
            for seq in range(1, 101):
                db.execute("INSERT INTO trades VALUES (?, 'BTC/USDT', '')", (seq,))
            db.execute("PRAGMA cache_size=2")
            db.execute("BEGIN")
            for seq in range(101, 5001):
                db.execute("INSERT INTO trades VALUES (?, 'BTC/USDT', ?)", (seq, "x" * 300))
            os._exit(1)
            """
        #expect(try runProcess(["python3", "-c", crash, live]).status == 1)
        let before = try names(tmp.path)
        #expect(before == ["trades.sqlite", "trades.sqlite-journal"])
        let journal = FileManager.default.contents(atPath: live + "-journal")
        #expect(throws: SQLiteError.self) { try SQLiteDatabase(readOnly: live).quickCheck() }

        try SQLiteDatabase.backup(live, to: tmp.path + "/copy.sqlite")
        let copy = try SQLiteWriter.contents(of: tmp.path + "/copy.sqlite", immutable: true)
        #expect(copy.integrity == "ok")
        #expect(copy.seqs == Array(1...100), "the committed rows, without the dead transaction's")
        #expect(try names(tmp.path) == ["copy.sqlite", "trades.sqlite", "trades.sqlite-journal"])
        // (SQLite's read-only connection, as root, chowns the journal to the database's owner: its ctime changes.)
        #expect(FileManager.default.contents(atPath: live + "-journal") == journal, "the journal is left for the app")
    }

    /// SQLite's NOFOLLOW refuses a link anywhere on the path; the snapshot resolves the work tree first (a work
    /// tree reached through a link is the operator's choice), and so does the data guard's check.
    @Test func aLinkOnTheWayIsRefusedBelowTheWorkTreeOnly() throws {
        let tmp = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: tmp.path + "/real/out", withIntermediateDirectories: true)
        let database = tmp.path + "/real/out/trades.sqlite"
        #expect(FileManager.default.createFile(atPath: database, contents: nil))
        try SQLiteDatabase(copyAt: database).execute("CREATE TABLE trades (seq INTEGER PRIMARY KEY)")
        #expect(symlink(tmp.path + "/real", tmp.path + "/app") == 0)
        #expect {
            try SQLiteDatabase(readOnly: tmp.path + "/app/out/trades.sqlite").quickCheck()
        } throws: { error in
            "\(error)".contains("a symbolic link is on its path")
        }
        #expect(SQLiteDatabase.quickCheck(path: tmp.path + "/app/out/trades.sqlite") == nil)
        let measured = try SnapshotBenchCommand.measure(root: tmp.path + "/app", data: ["out"],
                                                        snapshots: tmp.path + "/snapshots")
        #expect(measured.snapshot.files == 1 && measured.snapshot.copied == 1)
    }

    /// A file that starts like a database but is not one fails the backup with a message that says so.
    @Test func aDamagedDatabaseFailsTheBackupAndTheCheck() throws {
        let tmp = try TemporaryDirectory()
        let live = tmp.path + "/trades.sqlite"
        var bytes = Array("SQLite format 3".utf8) + [0]
        bytes += [UInt8](repeating: 0xA5, count: 8192 - bytes.count)
        #expect(FileManager.default.createFile(atPath: live, contents: Data(bytes)))
        #expect(throws: SQLiteError.self) { try SQLiteDatabase.backup(live, to: tmp.path + "/copy.sqlite") }
        do {
            try SQLiteDatabase.backup(live, to: tmp.path + "/copy.sqlite")
        } catch {
            #expect(error.code == .damaged, "\(error)")
            #expect(error.description.contains(live))
        }
        let verdict = SQLiteDatabase.quickCheck(path: live)
        #expect(verdict?.contains(live) == true, "\(verdict ?? "ok")")
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/copy.sqlite"), "no half copy left")
    }
}
