import Foundation
import Testing
import ShipkeepSandbox

/// The files a forced restore and a verify repair keep aside (`NAME.shipkeep-before-restore-…`,
/// `NAME.shipkeep-<deploy>-…`): never reused, never truncated, never followed, and nothing the bot appends while
/// they are made is lost.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct PreserveFileTests {
    private let signals = "paper_trading_outputs/signals.jsonl"

    /// The snapshot id of a successful `deploy --json`.
    private func deployedSnapshot(_ vm: VMSandbox) throws -> String {
        let deployed = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
        #expect(deployed.status == 0, "\(deployed.stderr)")
        let deploy = try #require(Faults.result(deployed.stdout)?["deploy"] as? [String: Any])
        return try #require((deploy["snapshot"] as? [String: Any])?["id"] as? String)
    }

    /// The names in `dir` (under the work tree) that begin with `prefix`, sorted.
    private func names(_ vm: VMSandbox, in dir: String, startingWith prefix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: vm.appPath + "/" + dir).filter { $0.hasPrefix(prefix) }
            .sorted()
    }

    /// The bot's `seq` numbers in the file at `path` (relative to the work tree).
    private func sequence(_ vm: VMSandbox, _ path: String) -> [Int] {
        let text = (try? String(contentsOfFile: vm.appPath + "/" + path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: "\"seq\":") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// Waits until the bot's live output holds a line numbered above `seq`.
    private func waitForBot(_ vm: VMSandbox, beyond seq: Int) throws {
        try waitUntil("the bot writes past line \(seq)") { (sequence(vm, signals).max() ?? 0) > seq }
    }

    @Test func twoForcedRestoresOfTheSameSnapshotWhileTheBotAppendsLoseNoLine() throws {
        try withSandbox(bot: true) { vm in
            let snapshot = try deployedSnapshot(vm)
            let restore = ["restore", "--json", "--force", "--snapshot", snapshot, "--path", signals]
                + vm.controllerArguments
            let prefix = "signals.jsonl.shipkeep-before-restore-\(snapshot)"

            try waitForBot(vm, beyond: 200)
            let first = try shipkeep(restore)
            #expect(first.status == 0, "\(first.stderr)")
            let firstPreserved = try #require(try names(vm, in: "paper_trading_outputs", startingWith: prefix).first)
            let firstContent = try #require(FileManager.default.contents(
                atPath: vm.appPath + "/paper_trading_outputs/" + firstPreserved))

            try waitForBot(vm, beyond: sequence(vm, signals).max() ?? 0)
            let second = try shipkeep(restore)
            #expect(second.status == 0, "\(second.stderr)")
            try waitForBot(vm, beyond: sequence(vm, signals).max() ?? 0)
            vm.stopBot()

            let preserved = try names(vm, in: "paper_trading_outputs", startingWith: prefix)
            #expect(preserved.count == 2, "each restore keeps its own copy: \(preserved)")
            let kept = FileManager.default.contents(atPath: vm.appPath + "/paper_trading_outputs/" + firstPreserved)
            let intact = kept.map { $0.starts(with: firstContent) } ?? false
            #expect(intact, "the first preserved copy still holds what it held after the first restore")
            // Every line the bot wrote is somewhere: in its output or in a copy kept aside.
            var seen = Set<Int>()
            for name in try names(vm, in: "paper_trading_outputs", startingWith: "signals.jsonl") {
                seen.formUnion(sequence(vm, "paper_trading_outputs/" + name))
            }
            let last = seen.max() ?? 0
            let lost = (1...max(last, 1)).filter { !seen.contains($0) }.count
            #expect(last > 0 && lost == 0, "\(lost) of \(last) lines exist nowhere")

            let test = "PreserveFileTests/twoForcedRestoresOfTheSameSnapshotWhileTheBotAppendsLoseNoLine()"
            try ReliabilityRecord(section: "hostile-input", id: "20-0",
                                  scenario: "two forced restores of the same snapshot of the file the bot appends to",
                                  injection: "`restore --force --path \(signals)` twice while the bot writes",
                                  outcome: "\(preserved.count) preserved copies; the first "
                                      + (intact ? "intact" : "overwritten") + "; every line 1…N in the live file "
                                      + "or a preserved copy" + (lost == 0 ? "" : " except \(lost)"),
                                  linesLost: lost,
                                  test: test)
                .write()
        }
    }

    /// A file outside the data dirs that a planted link points to, with what it holds.
    private func outsideTarget(_ vm: VMSandbox) throws -> (path: String, content: String) {
        let dir = vm.root + "/outside"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/secret.txt"
        try "outside the data dirs\n".write(toFile: path, atomically: false, encoding: .utf8)
        return (path, "outside the data dirs\n")
    }

    @Test func aLinkPlantedAtThePredictablePreserveNameOfARestoreIsNeverFollowed() throws {
        try withSandbox(bot: false) { vm in
            try vm.fillData(files: 3, bytesEach: 4096)
            let snapshot = try deployedSnapshot(vm)
            vm.stopBot()
            let file = "paper_trading_outputs/history_1.jsonl"
            try "chosen by whoever writes the data dir\n".write(toFile: vm.appPath + "/" + file, atomically: false,
                                                              encoding: .utf8)
            let target = try outsideTarget(vm)
            let planted = vm.appPath + "/" + file + ".shipkeep-before-restore-" + snapshot
            try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: target.path)

            let forced = try shipkeep(["restore", "--json", "--force", "--snapshot", snapshot, "--path", file]
                + vm.controllerArguments)
            #expect(forced.status == 0, "\(forced.stderr)")
            let untouched = (try? String(contentsOfFile: target.path, encoding: .utf8)) == target.content
            #expect(untouched, "the file the link points to is unchanged")
            let linkKept = (try? FileManager.default.destinationOfSymbolicLink(atPath: planted)) == target.path
            #expect(linkKept, "the planted link is left as it was")
            #expect(FileManager.default.contents(atPath: vm.appPath + "/" + file)?.count == 4096, "restored")

            try ReliabilityRecord.hostileInput(
                id: "20-1", scenario: "a link planted at a forced restore's predictable preserve name, "
                    + "pointing outside the data dirs",
                injection: "symlink(2) `history_1.jsonl.shipkeep-before-restore-<id>` → a file outside, then "
                    + "`restore --force`",
                outcome: HostileOutcome.exits([forced.status]) + "; "
                    + (untouched ? "the target outside unchanged" : "the target outside overwritten")
                    + (linkKept ? ", the link left alone" : ", the link replaced"),
                test: "PreserveFileTests/aLinkPlantedAtThePredictablePreserveNameOfARestoreIsNeverFollowed()").write()
        }
    }

    @Test func aLinkPlantedAtTheRepairNameOfADeployIsNeverFollowed() throws {
        try withSandbox(bot: false) { vm in
            try vm.fillData(files: 3, bytesEach: 4096)
            let file = "paper_trading_outputs/history_1.jsonl"
            try vm.writeAgentConfig(hooks: [["truncate", "-s", "100", file]])
            let target = try outsideTarget(vm)
            // The deploy id is known once the worker runs (it was in every local user's view of its argv).
            let paused = try Faults.startPaused(vm, in: "update")
            let planted = vm.appPath + "/" + file + ".shipkeep-" + paused.deploy
            try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: target.path)
            paused.resume()
            let status = try paused.controller.wait()
            let output = paused.controller.output
            #expect(status == 0, "\(paused.controller.errorOutput)")
            #expect(output.contains("history_1.jsonl had shrunk"), "the damage is repaired: \(output)")
            let untouched = (try? String(contentsOfFile: target.path, encoding: .utf8)) == target.content
            #expect(untouched, "the file the link points to is unchanged")
            let preserved = try names(vm, in: "paper_trading_outputs",
                                      startingWith: "history_1.jsonl.shipkeep-\(paused.deploy)-")
            #expect(preserved.count == 1, "the damaged content is kept under a name of its own")
            #expect(FileManager.default.contents(atPath: vm.appPath + "/" + file)?.count == 4096, "repaired")

            try ReliabilityRecord.hostileInput(
                id: "20-2", scenario: "a link planted at a verify repair's name (`NAME.shipkeep-<deploy>`), "
                    + "pointing outside the data dirs, and a hook that truncates NAME",
                injection: "symlink(2) while the worker is stopped in `update`, then the hook runs",
                outcome: HostileOutcome.exits([status]) + "; "
                    + (untouched ? "the target outside unchanged" : "the target outside overwritten")
                    + "; the damaged content kept in \(preserved.count) file(s) of its own",
                test: "PreserveFileTests/aLinkPlantedAtTheRepairNameOfADeployIsNeverFollowed()").write()
        }
    }
}
