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
        }
    }
}
