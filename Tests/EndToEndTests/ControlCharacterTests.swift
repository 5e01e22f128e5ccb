import Foundation
import Testing
import ShipkeepSandbox

/// Terminal escape sequences in the strings a client sends (the `controller` string `status` and the lock
/// messages show, ids, app names), as raw requests through sshd with the deploy key: refused before the
/// agent stores or echoes anything.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ControlCharacterTests {
    private static let hello = #"{"v":1,"type":"hello","id":"h","client":"test","protocols":[1]}"#

    private func request(_ vm: VMSandbox, _ object: [String: Any]) throws -> ProcessResult {
        let line = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        return try runProcess(["ssh", "-T", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                               "-o", "UserKnownHostsFile=\(vm.server.knownHostsPath)", "-o", "IdentitiesOnly=yes",
                               "-i", vm.server.userKeyPath, "-p", String(vm.server.port),
                               "\(vm.server.user)@\(vm.server.listenAddress)"],
                              environment: ["SSH_AUTH_SOCK": ""], stdin: Self.hello + "\n" + line + "\n")
    }

    /// Every file under `dir`, recursively.
    private func files(under dir: String) -> [String] {
        (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []).map { dir + "/" + $0 }
    }

    @Test func escapeSequencesInClientStringsAreRefusedBeforeAnythingIsStored() throws {
        try withSandbox { vm in
            let live = try vm.liveCommit()
            let title = "\u{1B}]0;pwned\u{07}", erase = "\u{1B}[2K"
            let requests: [[String: Any]] = [
                ["v": 1, "type": "deploy", "id": "2", "app": vm.appName, "controller": title + "ci@runner"],
                ["v": 1, "type": "deploy", "id": "3", "app": vm.appName, "controller": erase + "ci@runner"],
                ["v": 1, "type": "deploy", "id": erase + "4", "app": vm.appName],
                ["v": 1, "type": "deploy", "id": "5", "app": vm.appName, "ref": "main\u{9B}2K"],
                ["v": 1, "type": "status", "id": "6", "app": vm.appName + "\u{7F}"],
                ["v": 1, "type": "attach", "id": "7", "app": vm.appName, "deploy": title],
            ]
            var codes: [String?] = [], statuses: [Int32] = []
            for object in requests {
                let result = try request(vm, object)
                let last = jsonLines(result.stdout).last { $0["type"] as? String == "result" }
                let code = (last?["error"] as? [String: Any])?["code"] as? String
                #expect(code == "control_character", "\(object): \(result.stdout)")
                #expect(!result.stdout.contains("\u{1B}") && !result.stdout.contains("\\u001b"),
                        "the agent echoed the sequence: \(result.stdout)")
                codes.append(code)
                statuses.append(result.status)
            }
            let stored = files(under: vm.stateDir).filter { path in
                (FileManager.default.contents(atPath: path) ?? Data()).contains(0x1B)
            }
            #expect(stored.isEmpty, "stored: \(stored)")
            let journals = files(under: vm.stateDir + "/deploys")
            #expect(journals.isEmpty, "a refused request left \(journals)")
            let unchanged = try vm.liveCommit() == live
            #expect(unchanged)

            try ReliabilityRecord.hostileInput(
                id: "21-5", scenario: "`\\e]0;pwned\\a` (set title) and `\\e[2K` (erase line) in `controller`; "
                    + "ESC in an id, C1 CSI in a ref, DEL in an app name, a title sequence as a deploy id",
                injection: "raw requests through sshd with the deploy key",
                outcome: "each refused: \(HostileOutcome.codes(codes)), \(HostileOutcome.exits(statuses)); nothing "
                    + "stored (no journal, no ESC under the state dir); "
                    + (unchanged ? "live commit unchanged" : "live commit changed"),
                test: "ControlCharacterTests/escapeSequencesInClientStringsAreRefusedBeforeAnythingIsStored()"
            ).write()
        }
    }
}
