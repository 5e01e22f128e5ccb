import Foundation
import Testing
import ShipkeepSandbox

/// A bot keeping its trades in SQLite, through real deploys, restores and downloads: a python3 writer commits
/// one row per transaction every 3 ms, with its own sequence number, for the whole test.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SQLiteEndToEndTests {
    private static let database = "paper_trading_outputs/trades.sqlite"

    private func result(_ output: ProcessResult) -> [String: Any]? {
        jsonLines(output.stdout).last { $0["type"] as? String == "result" }
    }

    private func snapshotID(_ output: ProcessResult) throws -> String {
        let summary = try #require(result(output)?["deploy"] as? [String: Any])
        return try #require((summary["snapshot"] as? [String: Any])?["id"] as? String)
    }

    /// The names in the database's directory that begin with its name (the database, companions, copies).
    private func databaseFiles(_ vm: VMSandbox) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: vm.appPath + "/paper_trading_outputs")
            .filter { $0.hasPrefix("trades.sqlite") }.sorted()
    }

    /// Files anywhere in the data dirs that are shipkeep's copies of the database.
    private func shipkeepCopies(_ vm: VMSandbox) -> [String] {
        vm.dataDirs.flatMap { dir in
            (FileManager.default.subpaths(atPath: vm.appPath + "/" + dir) ?? [])
                .filter { $0.contains("trades.sqlite") && $0.contains(".shipkeep-") }
        }
    }

    private func deploy(_ vm: VMSandbox, _ index: Int) throws -> ProcessResult {
        try vm.commit(["VERSION": "\(index)\n"], message: "v\(index)")
        return try shipkeep(["deploy", "--json"] + vm.controllerArguments)
    }

    @Test("a database written throughout five deploys loses no committed row", arguments: SQLiteWriter.Mode.allCases)
    func aDatabaseWrittenThroughFiveDeploysLosesNoRow(mode: SQLiteWriter.Mode) throws {
        try withSandbox(bot: true) { vm in
            try vm.writeAgentConfig(keep: 10)
            let writer = try SQLiteWriter(path: vm.appPath + "/" + Self.database, mode: mode, scratch: vm.root)
            var exits: [Int32] = []
            var seconds: [Double] = []
            var snapshots: [(id: String, committedBefore: Int)] = []
            for index in 1...5 {
                try writer.waitForCommits(beyond: writer.lastCommitted() + 20)
                let committed = writer.lastCommitted()
                let start = Date()
                let output = try deploy(vm, index)
                seconds.append(Date().timeIntervalSince(start))
                exits.append(output.status)
                #expect(output.status == 0, "deploy \(index): \(output.stderr)")
                if let id = try? snapshotID(output) { snapshots.append((id, committed)) }
            }
            // Still committing after the last deploy, then stopped between two transactions.
            try writer.waitForCommits(beyond: writer.lastCommitted() + 20)
            let last = writer.stop()
            let live = try SQLiteWriter.contents(of: vm.appPath + "/" + Self.database)
            let lost = live.lost(upTo: last)
            #expect(lost == 0 && live.isContiguous, "\(live.seqs.count) rows, \(last) committed")
            #expect(live.integrity == "ok")
            var wholeCopies = 0
            for snapshot in snapshots {
                let copy = try SQLiteWriter.contents(of: vm.snapshotDir + "/" + snapshot.id + "/" + Self.database,
                                                     immutable: true)
                let whole = copy.integrity == "ok" && copy.isContiguous
                    && copy.lost(upTo: snapshot.committedBefore) == 0
                #expect(whole, "snapshot \(snapshot.id): \(copy.integrity), \(copy.seqs.count) rows")
                wholeCopies += whole ? 1 : 0
            }
            #expect(snapshots.count == 5)
            print("SQLiteEndToEndTests: \(mode): \(last) rows committed through 5 deploys of "
                + seconds.map { String(format: "%.1f s", $0) }.joined(separator: ", ") + "; \(lost) lost")
            let copies = shipkeepCopies(vm)
            #expect(copies.isEmpty, "\(copies)")
            try ReliabilityRecord(
                section: "bot-data", id: "30-1-\(mode == .wal ? "b" : "a")",
                scenario: "a SQLite database (\(mode) mode) written throughout 5 deploys",
                injection: "python3 writer, one row per transaction with its own seq, a commit every 3 ms",
                outcome: "exits \(exits.map(String.init).joined(separator: ",")); integrity_check \(live.integrity) "
                    + "on the live database, ok on \(wholeCopies) of \(snapshots.count) snapshot copies (each with "
                    + "every row committed before it); \(copies.count) .shipkeep-* copies",
                linesLost: lost, test: "SQLiteEndToEndTests/aDatabaseWrittenThroughFiveDeploysLosesNoRow(mode: \(mode))"
            ).write()
        }
    }

    @Test func aRestoredDatabaseKeepsNoStaleWALAndARunningWriterBlocksIt() throws {
        try withSandbox(bot: true) { vm in
            let live = vm.appPath + "/" + Self.database
            let writer = try SQLiteWriter(path: live, mode: .wal, scratch: vm.root)
            try writer.waitForCommits(beyond: 50)
            let deployed = try deploy(vm, 1)
            #expect(deployed.status == 0, "\(deployed.stderr)")
            let snapshot = try snapshotID(deployed)
            let snapshotRows = try SQLiteWriter.contents(of: vm.snapshotDir + "/" + snapshot + "/" + Self.database,
                                                         immutable: true).seqs
            try writer.waitForCommits(beyond: writer.lastCommitted() + 50)
            let restore = ["restore", "--json", "--snapshot", snapshot, "--force", "--path", Self.database]
                + vm.controllerArguments

            // While the writer has it open: refused, naming the writer; nothing changed.
            let filesBefore = try databaseFiles(vm)
            let inode = try FileManager.default.attributesOfItem(atPath: live)[.systemFileNumber] as? Int
            let refused = try shipkeep(restore)
            let message = (result(refused)?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(refused.status == 1, "\(refused.stdout)")
            let named = message.contains("process \(writer.pid)") && message.contains("stop")
            #expect(named, "\(message)")
            let unchanged = try databaseFiles(vm) == filesBefore
                && FileManager.default.attributesOfItem(atPath: live)[.systemFileNumber] as? Int == inode
            #expect(unchanged)
            #expect(writer.isRunning)

            // The writer crashes: its -wal holds commits newer than the snapshot. The restore must not leave it
            // beside the restored copy, where SQLite would apply it.
            let last = writer.kill()
            #expect(try databaseFiles(vm).contains("trades.sqlite-wal"))
            let restored = try shipkeep(restore)
            #expect(restored.status == 0, "\(restored.stderr)")
            let files = try databaseFiles(vm)
            let companions = files.filter { ["trades.sqlite-wal", "trades.sqlite-journal"].contains($0) }
            #expect(companions.isEmpty, "\(files)")
            let back = try SQLiteWriter.contents(of: live, immutable: true)
            #expect(back.integrity == "ok")
            #expect(back.seqs == snapshotRows,
                    "the restored database is the snapshot's: \(back.seqs.count) rows of \(snapshotRows.count)")
            // What was replaced moved aside together: opened with its -wal, it still holds every committed row.
            let aside = try #require(files.first { name in
                name.hasPrefix("trades.sqlite.shipkeep-before-restore-\(snapshot)-")
                    && !["-wal", "-shm", "-journal"].contains { name.hasSuffix($0) }
            })
            let together = files.contains(aside + "-wal")
            #expect(together, "\(files)")
            let kept = try SQLiteWriter.contents(of: vm.appPath + "/paper_trading_outputs/" + aside)
            #expect(kept.lost(upTo: last) == 0 && kept.integrity == "ok")
            try ReliabilityRecord(
                section: "bot-data", id: "30-2",
                scenario: "restore of a WAL database, first while its writer runs, then beside the -wal of a writer "
                    + "that crashed",
                injection: "`restore --force --path` while the writer commits; then `kill -9` of the writer, restore",
                outcome: "while running: exit \(refused.status), \(named ? "the writer named" : "no holder named"), "
                    + "\(unchanged ? "nothing changed" : "files changed"); after the crash: exit "
                    + "\(restored.status), \(companions.count) stale companions, "
                    + "\(back.seqs == snapshotRows ? "exactly the snapshot's rows" : "not the snapshot's rows"), "
                    + "integrity_check \(back.integrity); the replaced database and its -wal "
                    + (together ? "kept aside together" : "not kept together"),
                linesLost: kept.lost(upTo: last),
                test: "SQLiteEndToEndTests/aRestoredDatabaseKeepsNoStaleWALAndARunningWriterBlocksIt()"
            ).write()
        }
    }

    @Test func aSnapshotDownloadedWhileTheDatabaseIsWrittenIsAWholeDatabase() throws {
        try withSandbox(bot: true) { vm in
            let writer = try SQLiteWriter(path: vm.appPath + "/" + Self.database, mode: .rollback, scratch: vm.root)
            try writer.waitForCommits(beyond: 50)
            let committed = writer.lastCommitted()
            let deployed = try deploy(vm, 1)
            #expect(deployed.status == 0, "\(deployed.stderr)")
            let out = try TemporaryDirectory()
            let downloaded = try shipkeep(["download", "--json", "-o", out.path + "/b.tar.gz"] + vm.controllerArguments)
            #expect(downloaded.status == 0, "\(downloaded.stderr)")
            #expect(writer.isRunning, "written all along")
            let extract = try runProcess(["tar", "-xzf", out.path + "/b.tar.gz", "-C", out.path])
            #expect(extract.status == 0, "\(extract.stderr)")
            let copy = try SQLiteWriter.contents(of: out.path + "/" + Self.database)
            #expect(copy.integrity == "ok" && copy.isContiguous)
            #expect(copy.lost(upTo: committed) == 0, "\(copy.seqs.count) rows, \(committed) committed before")
            let extracted = try FileManager.default.contentsOfDirectory(atPath: out.path + "/paper_trading_outputs")
            #expect(!extracted.contains { $0.hasPrefix("trades.sqlite-") }, "no companion in the archive: \(extracted)")
            writer.stop()
            try ReliabilityRecord(
                section: "bot-data", id: "30-3",
                scenario: "download of a snapshot holding a database that is being written",
                injection: "python3 writer (rollback journal), a commit every 3 ms through the deploy and the download",
                outcome: "exit \(downloaded.status); the downloaded database: integrity_check \(copy.integrity), "
                    + "\(copy.isContiguous ? "contiguous rows" : "a gap"), no companion files",
                linesLost: copy.lost(upTo: committed),
                test: "SQLiteEndToEndTests/aSnapshotDownloadedWhileTheDatabaseIsWrittenIsAWholeDatabase()"
            ).write()
        }
    }
}
