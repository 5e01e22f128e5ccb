import Foundation
import Testing
import ShipkeepSandbox

/// Bots that keep their data the ways real bots do (section `bot-data` of docs/RELIABILITY.md), deployed to while
/// they write: a state file replaced by rename and a CSV rewritten in place, logs rotated by rename and by
/// copytruncate, and new code that clobbers its own history. Untracked files, the `logs/.gitkeep` migration
/// and a mistyped data dir are in `BotDataTests+Tree.swift`.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct BotDataTests {
    @Test func aStateFileReplacedByRenameAndACSVRewrittenInPlaceAreNeverRepairedNorDamaged() throws {
        try withSandbox(bot: true) { vm in
            let writer = try BotWriter(BotWriters.stateAndTrades, name: "state", in: vm)
            var touched: [String] = []
            var statuses: [Int32] = []
            for version in 2...6 {
                let before = try Self.stateCounter(vm)
                let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v\(version)")], message: "v\(version)")
                let deployed = try DeployRun(vm)
                statuses.append(deployed.status)
                #expect(deployed.status == 0, "\(deployed)")
                #expect(try vm.liveCommit() == target)
                touched += deployed.warnings.map { $0.message }
                    .filter { $0.contains("state.json") || $0.contains("trades.csv") }
                try waitUntil("the writer saves its state again after the deploy") {
                    try Self.stateCounter(vm) > before + 2
                }
            }
            #expect(writer.isRunning, "the writer died: \(writer.output)")
            let last = try writer.stop()
            #expect(writer.problems.isEmpty, "the writer read back something it had not written: \(writer.problems)")
            #expect(touched.isEmpty, "warnings about the mutable files: \(touched)")
            let asides = Self.asideFiles(vm, in: "paper_trading_outputs")
            #expect(asides.isEmpty, "copies beside the data: \(asides)")
            let temporary = try FileManager.default.contentsOfDirectory(atPath: vm.appPath + "/paper_trading_outputs")
                .filter { $0.hasPrefix(".state.json.") }
            #expect(temporary.isEmpty, "temporary files the writer had renamed away, put back: \(temporary)")
            #expect(try Self.stateCounter(vm) == last)
            let rows = try Self.csvRows(vm)
            #expect(rows == Array(1...last), "trades.csv holds \(rows.count) rows for \(last) written")
            let lost = Self.lostOrDuplicated(rows, last: last) + writer.problems.count

            try ReliabilityRecord(
                section: "bot-data", id: "31-1",
                scenario: "state.json replaced by rename and trades.csv rewritten in place, 5 times a second",
                injection: "a Python writer (`tempfile.mkstemp` + `os.replace`; `open(…, \"w\")`) running through "
                    + "5 deploys",
                outcome: "deploy exits \(statuses.map(String.init).joined(separator: ", ")); "
                    + "\(touched.count) warnings about them, \(asides.count) `.shipkeep-` copies, "
                    + "\(temporary.count) temporary files put back; "
                    + "\(writer.problems.count) bad read-backs; final counter "
                    + (try Self.stateCounter(vm) == last ? "the last written" : "not the last written")
                    + ", CSV rows " + (rows == Array(1...last) ? "1…N complete" : "incomplete"),
                linesLost: lost,
                test: "BotDataTests/aStateFileReplacedByRenameAndACSVRewrittenInPlaceAreNeverRepairedNorDamaged()"
            ).write()
        }
    }

    @Test func logsRotatedByRenameAndByCopytruncateKeepEveryLineExactlyOnce() throws {
        try withSandbox(bot: true) { vm in
            let writers = [try BotWriter(BotWriters.rotatingLog, name: "rot.log", in: vm),
                           try BotWriter(BotWriters.copyTruncatedLog, name: "ct.log", in: vm)]
            var touched: [String] = []
            var statuses: [Int32] = []
            for version in 2...6 {
                let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v\(version)")], message: "v\(version)")
                let deployed = try DeployRun(vm)
                statuses.append(deployed.status)
                #expect(deployed.status == 0, "\(deployed)")
                #expect(try vm.liveCommit() == target)
                touched += deployed.warnings.map { $0.message }
                    .filter { $0.contains("rot.log") || $0.contains("ct.log") }
            }
            var counts: [String] = []
            var lost = 0
            for writer in writers {
                #expect(writer.isRunning, "\(writer.name) died: \(writer.output)")
                let last = try writer.stop()
                let lines = try Self.rotatedLines(vm, log: writer.name)
                // More files than deploys: the log rotated while they ran, not only before the first.
                #expect(lines.files > 5, "\(writer.name) rotated during the deploys: \(lines.files) files")
                #expect(lines.files < BotWriters.rotatingLogBackups, "\(writer.name): the handler deleted none")
                let missing = (1...last).filter { lines.seen[$0] == nil }
                let duplicated = lines.seen.filter { $0.value > 1 }.keys.sorted()
                lost += missing.count + lines.seen.values.reduce(0) { $0 + max(0, $1 - 1) }
                    + lines.seen.keys.filter { $0 > last }.count
                #expect(missing.isEmpty,
                        "\(writer.name): \(missing.count) of \(last) missing, first \(missing.prefix(10))")
                #expect(duplicated.isEmpty,
                        "\(writer.name): \(duplicated.count) duplicated, first \(duplicated.prefix(10))")
                counts.append("\(writer.name)*: \(missing.count) lines missing, \(duplicated.count) duplicated")
            }
            let asides = Self.asideFiles(vm, in: "logs")
            #expect(asides.isEmpty, "copies beside the logs: \(asides)")
            #expect(touched.isEmpty, "warnings about the rotated logs: \(touched)")

            try ReliabilityRecord(
                section: "bot-data", id: "31-2",
                scenario: "logs rotated about every 0.2 s: by Python's RotatingFileHandler (rename) and by "
                    + "logrotate-style copytruncate",
                injection: "two Python writers (~500 lines/s each) running through 5 deploys",
                outcome: "deploy exits \(statuses.map(String.init).joined(separator: ", ")); "
                    + counts.joined(separator: "; ")
                    + "; \(asides.count) `.shipkeep-` copies, \(touched.count) warnings about them",
                linesLost: lost, test: "BotDataTests/logsRotatedByRenameAndByCopytruncateKeepEveryLineExactlyOnce()"
            ).write()
        }
    }

    @Test func newCodeThatClobbersItsHistoryIsRolledBackAndCodeThatAppendsIsDeployed() throws {
        try withSandbox(bot: true) { vm in
            try vm.writeAgentConfig(healthTimeout: 4)
            let out = vm.appPath + "/paper_trading_outputs/"
            let originals = ["signals_1.jsonl": Self.jsonl(lines: 160), "signals_2.jsonl": Self.jsonl(lines: 80)]
            for (name, content) in originals { try content.write(to: URL(fileURLWithPath: out + name)) }
            #expect(originals["signals_1.jsonl"]?.count == 10 * 1024)
            let previous = try vm.liveCommit()
            try vm.commit(["restart.sh": SampleApp.restart + "\n" + BotWriters.clobberOnStart + "\n"],
                          message: "v2: start with fresh signal files")
            let clobbered = try DeployRun(vm)
            #expect(clobbered.status == 1, "\(clobbered)")
            #expect(clobbered.outcome == "rolled_back", "\(clobbered)")
            #expect(try vm.liveCommit() == previous, "the previous commit is live again")
            let message = clobbered.errorMessage
            #expect(message.contains("paper_trading_outputs/signals_1.jsonl: 10.0 KiB → 0 B after the restart"),
                    "\(message)")
            #expect(message.contains("paper_trading_outputs/signals_2.jsonl"), "\(message)")
            for name in originals.keys.sorted() {
                #expect(clobbered.process.stderr.contains("paper_trading_outputs/" + name),
                        "stderr names \(name): \(clobbered.process.stderr)")
            }
            let written = ["signals_1.jsonl": Data(), "signals_2.jsonl": Data(BotWriters.clobberedLine.utf8)]
            for (name, original) in originals {
                let live = FileManager.default.contents(atPath: out + name) ?? Data()
                #expect(live.starts(with: original),
                        "\(name) is back: \(live.count) bytes, \(original.count) at the snapshot")
                let asides = Self.asideFiles(vm, in: "paper_trading_outputs")
                    .filter { $0.hasPrefix(name + ".shipkeep-") }
                #expect(asides.count == 1, "what the new code wrote is beside \(name): \(asides)")
                #expect(asides.map { FileManager.default.contents(atPath: out + $0) } == [written[name]],
                        "\(name): the copy beside it holds what the new code wrote")
            }
            let check = try runProcess([vm.appPath + "/check.sh"], cwd: vm.appPath)
            #expect(check.status == 0, "the previous bot runs again: \(check.stderr)")
            let count = try vm.botSequence().count
            try waitUntil("the rolled-back bot writes again") { try vm.botSequence().count > count + 100 }

            let before = FileManager.default.contents(atPath: out + "signals_1.jsonl") ?? Data()
            let appending = try vm.commit(["restart.sh": SampleApp.restart + "\n" + BotWriters.appendOnStart + "\n"],
                                          message: "v3: resume where the signals end")
            let appended = try DeployRun(vm)
            #expect(appended.status == 0, "\(appended)")
            #expect(appended.outcome == "succeeded", "\(appended)")
            #expect(try vm.liveCommit() == appending)
            #expect(FileManager.default.contents(atPath: out + "signals_1.jsonl")
                    == before + Data(BotWriters.appendedLine.utf8), "signals_1.jsonl grew by the appended line only")
            let lost = try Faults.linesLost(vm)

            try ReliabilityRecord(
                section: "bot-data", id: "31-3",
                scenario: "new code truncates one JSONL file and overwrites another on start; then code that appends",
                injection: "restart.sh of the new commit runs `open(…, \"w\")` on signals_1.jsonl (10 KiB) "
                    + "and signals_2.jsonl (5 KiB); the next commit's restart.sh appends a line",
                outcome: "clobbering commit: exit \(clobbered.status), \(clobbered.outcome ?? "no outcome"), "
                    + "message names \(originals.keys.filter { message.contains("paper_trading_outputs/" + $0) }.count)"
                    + " of the 2 files; "
                    + "appending commit: exit \(appended.status), \(appended.outcome ?? "no outcome")",
                linesLost: lost,
                test: "BotDataTests/newCodeThatClobbersItsHistoryIsRolledBackAndCodeThatAppendsIsDeployed()"
            ).write()
        }
    }

    @Test func newCodeThatClobbersDuringTheSettleTimeIsRolledBack() throws {
        try withSandbox(bot: true) { vm in
            // The checks pass at once; the guard has to keep looking for the 3 s of health.settle.
            try vm.writeAgentConfig(healthTimeout: 8, healthSettle: 3)
            let path = vm.appPath + "/paper_trading_outputs/signals_1.jsonl"
            let original = Self.jsonl(lines: 160)
            try original.write(to: URL(fileURLWithPath: path))
            let previous = try vm.liveCommit()
            try vm.commit(["restart.sh": SampleApp.restart + "\n" + BotWriters.clobberAfterStart + "\n"],
                          message: "v2: start fresh a second after starting")
            let clobbered = try DeployRun(vm)
            #expect(clobbered.status == 1, "\(clobbered)")
            #expect(clobbered.outcome == "rolled_back", "\(clobbered)")
            #expect(try vm.liveCommit() == previous, "the previous commit is live again")
            let line = "paper_trading_outputs/signals_1.jsonl: 10.0 KiB → \(BotWriters.clobberedLine.utf8.count) B"
            #expect(clobbered.errorMessage.contains(line), "\(clobbered)")
            #expect(clobbered.process.stderr.contains("paper_trading_outputs/signals_1.jsonl"), "\(clobbered)")
            let live = FileManager.default.contents(atPath: path) ?? Data()
            #expect(live.starts(with: original), "signals_1.jsonl is back: \(live.count) bytes of \(original.count)")
            let asides = Self.asideFiles(vm, in: "paper_trading_outputs").filter { $0.hasPrefix("signals_1.jsonl.") }
            #expect(asides.map { FileManager.default.contents(atPath: vm.appPath + "/paper_trading_outputs/" + $0) }
                    == [Data(BotWriters.clobberedLine.utf8)], "what the new code wrote is beside it: \(asides)")
            let lost = try Faults.linesLost(vm)

            try ReliabilityRecord(
                section: "bot-data", id: "31-3b",
                scenario: "new code truncates a JSONL file a second after it started, while its checks pass",
                injection: "restart.sh of the new commit starts a detached `sleep 1; open(…, \"w\")`; "
                    + "`health.settle: 3`",
                outcome: "exit \(clobbered.status), \(clobbered.outcome ?? "no outcome"); "
                    + "signals_1.jsonl \(live.starts(with: original) ? "restored" : "not restored"), "
                    + "\(asides.count) copy of the new code's output beside it",
                linesLost: lost, test: "BotDataTests/newCodeThatClobbersDuringTheSettleTimeIsRolledBack()"
            ).write()
        }
    }

    // MARK: - Helpers

    /// The counter in `paper_trading_outputs/state.json`.
    ///
    /// - Throws: when the file is missing or does not parse (it is replaced by rename, so it never should).
    static func stateCounter(_ vm: VMSandbox) throws -> Int {
        let data = try Data(contentsOf: URL(fileURLWithPath: vm.appPath + "/paper_trading_outputs/state.json"))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return try #require(object?["counter"] as? Int, "state.json: \(String(decoding: data, as: UTF8.self))")
    }

    /// The sequence numbers of the rows of `paper_trading_outputs/trades.csv`, in file order.
    static func csvRows(_ vm: VMSandbox) throws -> [Int] {
        let text = try String(contentsOfFile: vm.appPath + "/paper_trading_outputs/trades.csv", encoding: .utf8)
        return text.split(separator: "\n").dropFirst().compactMap { Int($0.prefix { $0 != "," }) }
    }

    /// How often each `seq=N` line occurs across `logs/LOG` and its rotations (`LOG.1`, `LOG.2`, …), and in how
    /// many files; the copies a deploy put aside are not counted.
    static func rotatedLines(_ vm: VMSandbox, log: String) throws -> (seen: [Int: Int], files: Int) {
        let names = try FileManager.default.contentsOfDirectory(atPath: vm.appPath + "/logs")
            .filter { $0 == log || ($0.hasPrefix(log + ".") && Int($0.dropFirst(log.count + 1)) != nil) }
        var seen: [Int: Int] = [:]
        for name in names {
            let text = try String(contentsOfFile: vm.appPath + "/logs/" + name, encoding: .utf8)
            for line in text.split(separator: "\n") {
                guard line.hasPrefix("seq="), let seq = Int(line.dropFirst(4).prefix(8)) else { continue }
                seen[seq, default: 0] += 1
            }
        }
        return (seen, names.count)
    }

    /// Numbers missing from 1…last, plus numbers there more than once.
    static func lostOrDuplicated(_ numbers: [Int], last: Int) -> Int {
        let distinct = Set(numbers)
        return (1...max(last, 1)).filter { !distinct.contains($0) }.count + numbers.count - distinct.count
    }

    /// The names of the files in `dir` (under the work tree) that a deploy put aside (`NAME.shipkeep-…`).
    static func asideFiles(_ vm: VMSandbox, in dir: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: vm.appPath + "/" + dir)) ?? []
        return names.filter { $0.contains(".shipkeep-") }.sorted()
    }

    /// `lines` JSON lines of 64 bytes each, like a bot's signal history.
    static func jsonl(lines: Int) -> Data {
        var text = ""
        for seq in 1...lines {
            let head = #"{"seq":"# + String(format: "%05d", seq) + #","signal":"buy","note":""#
            text += head + String(repeating: "x", count: 64 - head.count - 3) + "\"}\n"
        }
        return Data(text.utf8)
    }
}

/// One `shipkeep deploy --json` against a sandbox, decoded.
struct DeployRun: CustomStringConvertible {
    /// The process's exit status and output.
    let process: ProcessResult
    /// The `warning` events, in order.
    let warnings: [(code: String, message: String)]
    /// The final `result` event.
    let result: [String: Any]?

    /// Runs `shipkeep deploy --json` with `extra` arguments against `vm`.
    ///
    /// - Throws: when `shipkeep` cannot be started.
    init(_ vm: VMSandbox, _ extra: [String] = []) throws {
        process = try shipkeep(["deploy", "--json"] + extra + vm.controllerArguments)
        let lines = jsonLines(process.stdout)
        warnings = lines.filter { $0["type"] as? String == "warning" }
            .map { ($0["code"] as? String ?? "", $0["message"] as? String ?? "") }
        result = lines.last { $0["type"] as? String == "result" }
    }

    /// The exit status.
    var status: Int32 { process.status }

    /// The deploy's outcome (`succeeded`, `rolled_back`, …).
    var outcome: String? { (result?["deploy"] as? [String: Any])?["outcome"] as? String }

    /// The result's error code, when it failed.
    var errorCode: String? { (result?["error"] as? [String: Any])?["code"] as? String }

    /// The result's error message, or "" when it succeeded.
    var errorMessage: String { (result?["error"] as? [String: Any])?["message"] as? String ?? "" }

    /// The messages of the warnings with `code`.
    func warnings(_ code: String) -> [String] {
        warnings.filter { $0.code == code }.map { $0.message }
    }

    var description: String {
        "exit \(status), outcome \(outcome ?? "none"), error \(errorCode ?? "none"): \(errorMessage)\n"
            + "warnings: \(warnings.map { "\($0.code): \($0.message)" })\nstderr: \(process.stderr.suffix(2000))"
    }
}
