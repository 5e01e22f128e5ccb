import Foundation
import Testing
import ShipkeepSandbox

/// The relay passes the worker's journal through: one `seq` numbering from the journal to the controller,
/// heartbeats journaled by the worker itself. One sandbox, one deploy: its worker killed during a long silent
/// hook after several heartbeats is recovered and reported so, and every re-attach to the finished journal,
/// from each of its sequence numbers, gets every later event exactly once.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct RelayFaultTests {
    @Test func aWorkerKilledInALongHookIsRecoveredAndItsJournalReplaysFromAnySeq() throws {
        try withSandbox(bot: false) { vm in
            try vm.writeAgentConfig(hooks: [["sleep", "15"]])
            let fixture = try Faults.prepare(vm)
            let controller = try BackgroundShipkeep(["deploy", "--json"] + vm.controllerArguments)
            let started = try #require(jsonLines(try controller.waitForLine { $0.contains("\"type\":\"started\"") }).first)
            let worker = Int32(try #require(started["pid"] as? Int))
            let deploy = try #require(started["deploy"] as? String)
            // The second heartbeat of the hook (10 s into its 15) is the moment to kill: mid-hook, after beats.
            try controller.waitForLine(timeout: 60) { line in
                guard let event = jsonLines(line).first, event["type"] as? String == "progress",
                      event["unit"] as? String == "seconds", event["phase"] as? String == "update" else { return false }
                return (event["done"] as? Int ?? 0) >= 10
            }
            kill(worker, SIGKILL)
            let status = try controller.wait()
            let lines = jsonLines(controller.output)
            let result = Faults.result(controller.output)
            let code = (result?["error"] as? [String: Any])?["code"] as? String
            let outcome = (result?["deploy"] as? [String: Any])?["outcome"] as? String
            let beats = lines.filter { $0["type"] as? String == "progress" && $0["unit"] as? String == "seconds" }
            #expect(status == 1, "exit 1: failed safely, the code is back: \(controller.errorOutput)")
            #expect(code == "recovered" && outcome == "recovered", "\(controller.output.suffix(800))")
            #expect(beats.count >= 2, "heartbeats while the hook ran: \(beats.count)")
            #expect(try vm.liveCommit() == fixture.previous, "code back at the commit before the deploy")

            // The journal is the one numbering: 1, 2, … with no gap, and the controller saw its events in order.
            let journalPath = vm.stateDir + "/deploys/" + deploy + ".jsonl"
            let journal = jsonLines(try String(contentsOfFile: journalPath, encoding: .utf8))
            let seqs = journal.compactMap { $0["seq"] as? Int }
            #expect(seqs == Array(1...max(1, seqs.count)), "journal seqs: \(seqs)")
            // The controller prints each agent event as it came (its own result line closes the output).
            let relayed = lines.dropLast().compactMap { $0["seq"] as? Int }
            #expect(relayed == Array(seqs.dropLast()), "the controller got the journal's events under their seqs")
            #expect(journal.last?["type"] as? String == "result")

            // One SSH session, one attach per starting seq (and one past the end): each gets exactly the events
            // numbered from there on, as the journal holds them; the one past the end gets the result alone.
            let last = seqs.last ?? 0
            var input = #"{"v":1,"type":"hello","id":"h","client":"test","protocols":[1]}"# + "\n"
            for from in 1...(last + 1) {
                input += #"{"v":1,"type":"attach","id":"a\#(from)","app":"\#(vm.appName)","deploy":"\#(deploy)","#
                    + #""fromSeq":\#(from)}"# + "\n"
            }
            let replay = try runProcess(sshArguments(vm), environment: ["SSH_AUTH_SOCK": ""], stdin: input)
            #expect(replay.status == 0, "\(replay.stderr)")
            let replayed = jsonLines(replay.stdout)
            let bySeq = Dictionary(journal.map { ($0["seq"] as? Int ?? 0, Self.canonical($0)) }, uniquingKeysWith: { a, _ in a })
            var wrong: [String] = []
            for from in 1...(last + 1) {
                let events = replayed.filter { $0["id"] as? String == "a\(from)" }
                let expected = from > last ? [last] : Array(from...last)
                if events.compactMap({ $0["seq"] as? Int }) != expected
                    || events.contains(where: { Self.canonical($0) != bySeq[$0["seq"] as? Int ?? 0] }) {
                    wrong.append("from \(from): \(events.compactMap { $0["seq"] as? Int })")
                }
            }
            #expect(wrong.isEmpty, "re-attaches that did not get every later event exactly once: \(wrong)")
            let lost = try Faults.linesLost(vm)

            try ReliabilityRecord(
                section: "faults", id: "02-7", scenario: "worker killed during a long silent hook, after heartbeats",
                injection: "after_update hook `sleep 15`; `kill -9` of the worker at its second heartbeat (10 s)",
                outcome: "deploy exit \(status), result \(code ?? "none") (\(outcome ?? "none")); \(beats.count) "
                    + "heartbeats; \(try Faults.codeAt(vm, fixture)); re-attach from each of \(last) seqs: "
                    + (wrong.isEmpty ? "every later event once" : "\(wrong.count) wrong"),
                linesLost: lost,
                test: "RelayFaultTests/aWorkerKilledInALongHookIsRecoveredAndItsJournalReplaysFromAnySeq()"
            ).write()
        }
    }

    /// An event without its request id, keys sorted: the same event relayed under any request compares equal.
    private static func canonical(_ event: [String: Any]) -> String {
        var event = event
        event["id"] = nil
        let data = (try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private func sshArguments(_ vm: VMSandbox) -> [String] {
        ["ssh", "-T", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
         "-o", "UserKnownHostsFile=\(vm.server.knownHostsPath)", "-o", "IdentitiesOnly=yes",
         "-i", vm.server.userKeyPath, "-p", String(vm.server.port), "\(vm.server.user)@\(vm.server.listenAddress)"]
    }
}
