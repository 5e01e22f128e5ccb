import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep snapshot` while bots write the ways real ones do: a SQLite database committing a row every 3 ms (WAL),
/// a state file replaced by rename, a log rotated by `RotatingFileHandler` and the sample bot appending JSON lines.
/// The snapshot, downloaded and unpacked into a scratch directory, holds every row committed before it started in
/// a database that passes `PRAGMA integrity_check`, and JSON lines without a torn one; the writers lose nothing.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SnapshotWhileWritingTests {
    @Test func aSnapshotTakenWhileBotsWriteLosesNothing() throws {
        try withSandbox(bot: true) { vm in
            let sqlite = try SQLiteWriter(path: vm.appPath + "/paper_trading_outputs/trades.sqlite", mode: .wal,
                                          scratch: vm.root)
            let writers = [try BotWriter(BotWriters.stateAndTrades, name: "state", in: vm),
                           try BotWriter(BotWriters.rotatingLog, name: "rot.log", in: vm)]
            try sqlite.waitForCommits(beyond: 200)
            let committed = sqlite.lastCommitted()
            let taken = try shipkeep(["snapshot", "--json"] + vm.controllerArguments)
            #expect(taken.status == 0, "\(taken.stderr)\n\(taken.stdout)")
            let result = jsonLines(taken.stdout).last { $0["type"] as? String == "result" }
            let snapshot = (result?["deploy"] as? [String: Any])?["snapshot"] as? [String: Any]
            let id = try #require(snapshot?["id"] as? String, "\(taken.stdout)")
            // Still writing after it.
            try sqlite.waitForCommits(beyond: sqlite.lastCommitted() + 50)

            let archive = vm.root + "/snapshot.tar.gz"
            let scratch = vm.root + "/unpacked"
            let downloaded = try shipkeep(["download", "--snapshot", id, "-o", archive] + vm.controllerArguments)
            #expect(downloaded.status == 0, "\(downloaded.stderr)")
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let unpacked = try runProcess(["tar", "-xzf", archive, "-C", scratch])
            #expect(unpacked.status == 0, "\(unpacked.stderr)")

            let copy = try SQLiteWriter.contents(of: scratch + "/paper_trading_outputs/trades.sqlite", immutable: true)
            #expect(copy.integrity == "ok", "\(copy.integrity)")
            #expect(copy.lost(upTo: committed) == 0 && copy.isContiguous,
                    "the snapshot holds \(copy.seqs.count) rows; \(committed) were committed before it started")
            let signals = try String(contentsOfFile: scratch + "/paper_trading_outputs/signals.jsonl", encoding: .utf8)
            #expect(signals.hasSuffix("\n"), "the snapshot's signals.jsonl ends in a torn line")
            let seqs = signals.split(separator: "\n").map { line -> Int in
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return object?["seq"] as? Int ?? -1
            }
            #expect(!seqs.isEmpty && seqs == Array(1...seqs.count), "signals.jsonl: \(seqs.count) lines, not 1…N")
            let state = FileManager.default.contents(atPath: scratch + "/paper_trading_outputs/state.json") ?? Data()
            let counter = (try? JSONSerialization.jsonObject(with: state) as? [String: Any])?["counter"] as? Int
            #expect(counter != nil, "state.json in the snapshot: \(String(decoding: state, as: UTF8.self))")
            let logs = try FileManager.default.contentsOfDirectory(atPath: scratch + "/logs")
                .filter { $0.hasPrefix("rot.log") }
            #expect(!logs.isEmpty)
            for name in logs {
                let text = try String(contentsOfFile: scratch + "/logs/" + name, encoding: .utf8)
                let whole = "^seq=[0-9]{8} tick price=101.25 qty=3$"
                let torn = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                    .filter { $0.range(of: whole, options: .regularExpression) == nil }
                #expect(text.isEmpty || text.hasSuffix("\n") && torn.isEmpty, "\(name): torn lines \(torn.prefix(3))")
            }

            // Nothing lost live either: every row, every state write, every log line, every bot line.
            let last = sqlite.stop()
            let live = try SQLiteWriter.contents(of: vm.appPath + "/paper_trading_outputs/trades.sqlite")
            #expect(live.lost(upTo: last) == 0 && live.isContiguous && live.integrity == "ok",
                    "\(live.seqs.count) rows live, \(last) committed, \(live.integrity)")
            for writer in writers {
                #expect(writer.isRunning, "\(writer.name) died: \(writer.output)")
                let final = try writer.stop()
                #expect(writer.problems.isEmpty, "\(writer.name): \(writer.problems)")
                if writer.name == "rot.log" {
                    let lines = try BotDataTests.rotatedLines(vm, log: "rot.log")
                    let wrong = (1...final).filter { lines.seen[$0] != 1 }
                    #expect(wrong.isEmpty, "rot.log: \(wrong.count) of \(final) lines missing or duplicated")
                }
            }
            #expect(try Faults.linesLost(vm) == 0)

            // The same sandbox, for a file stored as chunks that grows through a deploy and a rollback.
            try Self.aChunkedFileGrowingThroughADeployAndARollback(vm)
        }
    }

    /// A JSONL file larger than one chunk (so stored as chunks) that a live writer appends to all through a
    /// deploy and then a deploy of a commit whose check fails (rolled back): every line it wrote is there once,
    /// none torn, nothing was put aside, and each deploy's snapshot holds, byte for byte, the file as long as
    /// its manifest recorded it (downloaded, which checks every chunk and the whole file's hash).
    static func aChunkedFileGrowingThroughADeployAndARollback(_ vm: VMSandbox) throws {
        let relative = "paper_trading_outputs/growing.jsonl"
        let path = vm.appPath + "/" + relative
        let writer = try BotWriter(growingWriter, name: "growing", in: vm)
        func size() -> Int { ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0 }
        var snapshots: [String] = []
        let v2 = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
        let healthy = try DeployRun(vm)
        #expect(healthy.status == 0 && healthy.outcome == "succeeded", "\(healthy)")
        #expect(try vm.liveCommit() == v2)
        try vm.commit(["check.sh": "#!/usr/bin/env bash\necho 'strategy self-test failed' >&2\nexit 1\n"],
                      message: "v3: a check that fails")
        let failing = try DeployRun(vm)
        #expect(failing.status == 1 && failing.outcome == "rolled_back", "\(failing)")
        #expect(try vm.liveCommit() == v2, "v2 is live again")
        for run in [healthy, failing] {
            let snapshot = (run.result?["deploy"] as? [String: Any])?["snapshot"] as? [String: Any]
            snapshots.append(try #require(snapshot?["id"] as? String, "\(run)"))
        }
        // Still writing after the rollback, then stopped.
        let after = size()
        try waitUntil("the writer appends after the rollback") { size() > after + 10_000 }
        #expect(writer.isRunning, "the writer died: \(writer.output)")
        let last = try writer.stop()
        #expect(writer.problems.isEmpty, "\(writer.problems)")

        let live = try #require(FileManager.default.contents(atPath: path))
        #expect(live.last == UInt8(ascii: "\n"), "the live file ends in a torn line")
        let seqs = live.split(separator: UInt8(ascii: "\n")).map { line -> Int in
            let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            return object?["seq"] as? Int ?? -1
        }
        let torn = seqs.filter { $0 < 0 }.count, duplicated = seqs.count - Set(seqs).count
        #expect(seqs.count == last && seqs == Array(1...last),
                "\(seqs.count) lines of \(last) written, \(torn) torn, \(duplicated) duplicated")
        #expect(BotDataTests.asideFiles(vm, in: "paper_trading_outputs").isEmpty, "nothing was put aside")

        var recorded: [Int] = []
        for id in snapshots {
            let file = vm.snapshotDir + "/" + id + "/manifest.json"
            let manifest = try #require(FileManager.default.contents(atPath: file))
            let object = try JSONSerialization.jsonObject(with: manifest) as? [String: Any]
            let entries = object?["entries"] as? [[String: Any]]
            let entry = try #require(entries?.first { $0["path"] as? String == relative }, "\(id) holds \(relative)")
            let bytes = try #require(entry["size"] as? Int)
            #expect(bytes > 4 << 20 && (entry["chunks"] as? [String])?.count == (bytes + (4 << 20) - 1) / (4 << 20),
                    "\(id): \(bytes) bytes stored as chunks")
            let archive = vm.root + "/growing-\(id).tar.gz"
            let scratch = vm.root + "/growing-\(id)"
            let downloaded = try shipkeep(["download", "--snapshot", id, "-o", archive] + vm.controllerArguments)
            #expect(downloaded.status == 0, "\(downloaded.stderr)")
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let unpacked = try runProcess(["tar", "-xzf", archive, "-C", scratch])
            #expect(unpacked.status == 0, "\(unpacked.stderr)")
            let copy = try #require(FileManager.default.contents(atPath: scratch + "/" + relative))
            #expect(copy.count == bytes && copy == live.prefix(bytes), "\(id): the copy is the live file's first bytes")
            recorded.append(bytes)
        }
        #expect(recorded.count == 2 && recorded[0] < recorded[1] && recorded[1] < live.count,
                "the file grew through both deploys: \(recorded), \(live.count) at the end")
    }

    /// Appends numbered JSON lines (`{"seq":N,…}`, about 120 bytes, one `write` each) to
    /// `paper_trading_outputs/growing.jsonl`: 50,000 at once (6 MB, more than one chunk), then one a millisecond.
    static let growingWriter = """
        import os, signal, sys, time

        prefix = sys.argv[1]
        stopping = False

        def stop(*_):
            global stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        fd = os.open("paper_trading_outputs/growing.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        pad = "x" * 96

        def line(n):
            return f'{{"seq":{n},"note":"{pad}"}}\\n'.encode()

        n = 0
        while n < 50000:
            batch = b"".join(line(i) for i in range(n + 1, n + 1001))
            os.write(fd, batch)
            n += 1000
        with open(prefix + ".pid", "w") as f:
            f.write(str(os.getpid()))
        while not stopping:
            n += 1
            os.write(fd, line(n))
            time.sleep(0.001)
        with open(prefix + ".done", "w") as f:
            f.write(str(n))
        """
}
