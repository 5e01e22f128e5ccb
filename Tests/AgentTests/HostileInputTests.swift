import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared

/// The one table of hostile paths and ids (``HostileInputs``) run against every entry point of the agent that
/// takes a path or an id from outside: agent.yml's data dirs, `restore`'s paths and snapshot id, `download`'s
/// snapshot id (whose archive entries the controller checks, see ArchiveVerifierTests), the deploy ids of
/// `attach` and `unlock`, and the manifest paths of a snapshot. Each is refused with an error naming the rule,
/// and nothing is written.
@Suite(.timeLimit(.minutes(10))) struct HostileInputTests {
    final class Transcript: @unchecked Sendable {
        // @unchecked: appended to only from the test's own thread, synchronously.
        var events: [EventMessage] = []
    }

    private let tmp: TemporaryDirectory
    private let app: AppConfig
    private var root: String { tmp.path + "/app" }

    init() throws {
        tmp = try TemporaryDirectory()
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    data: [out]\n    state: \(tmp.path)/state\n"
        app = try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
        try tmp.write("app/out/history.jsonl", "{\"seq\":1}\n")
        try tmp.write("outside/secret.txt", "outside\n")
        #expect(symlink(tmp.path + "/outside", root + "/out/evil") == 0)
    }

    /// Every file and directory under the temporary directory, to prove a refusal wrote nothing.
    private func tree() -> [String] {
        (FileManager.default.enumerator(atPath: tmp.path)?.allObjects as? [String] ?? []).sorted()
    }

    /// Sends hello, then `request` (a JSON object's fields after `"v","type","id"`), and returns the last result.
    private func ask(_ type: String, _ fields: [String: Any]) throws -> Event.Result? {
        let config = try AgentConfig.parse("apps:\n  bots:\n    path: \(root)\n    data: [out]\n    state: "
                                           + "\(tmp.path)/state\n", file: "agent.yml")
        let transcript = Transcript()
        let agent = AgentServer(config: config) { transcript.events.append($0) }
        _ = agent.handle(line: Array(#"{"v":1,"type":"hello","id":"h","client":"t","protocols":[1]}"#.utf8))
        var object = fields
        object["v"] = 1
        object["type"] = type
        object["id"] = "1"
        object["app"] = "bots"
        _ = agent.handle(line: Array(try JSONSerialization.data(withJSONObject: object)))
        guard case .result(let result) = transcript.events.last?.event else { return nil }
        return result
    }

    /// The refusal must be a failure whose message names the rule (or the protocol's refusal of a control
    /// character, which ends the session before any field is read).
    private func expectRefused(_ result: Event.Result?, _ codes: [ErrorCode], _ hostile: HostileInputs.Case,
                               _ what: String) {
        guard let result, !result.ok, let error = result.error else {
            Issue.record("\(what) \(hostile): not refused")
            return
        }
        if error.code == .controlCharacter { return }
        #expect(codes.contains(error.code), "\(what) \(hostile): \(error.code): \(error.message)")
        #expect(error.message.lowercased().contains(hostile.mentions), "\(what) \(hostile): \(error.message)")
        #expect(!error.message.contains("\u{0}") && error.message.utf8.count < 400, "\(what) \(hostile)")
    }

    @Test(arguments: HostileInputs.paths)
    func agentYmlRefusesAHostileDataDir(hostile: HostileInputs.Case) throws {
        let quoted = String(decoding: try JSONEncoder().encode(hostile.text), as: UTF8.self)
        // `a/`, `./x` and `a//b` are only spellings: agent.yml, which the VM's admin writes, reads them plainly
        // (as it always has), and the plain path is the one used everywhere after.
        let plain = AppConfig.normalize(hostile.text)
        if plain != hostile.text && RelativePath.isValid(plain) {
            let config = try AgentConfig.parse("apps:\n  b:\n    path: /srv/b\n    data: [\(quoted)]\n"
                                               + "    health: {fresh: {path: \(quoted), within: 5}}\n", file: "agent.yml")
            let app = try #require(config.app("b"))
            #expect(app.data == [plain] && app.health.fresh?.path == plain, "\(hostile.name): \(app.data)")
            return
        }
        for yaml in ["data: [\(quoted)]", "health: {fresh: {path: \(quoted), within: 5}}"] {
            do {
                _ = try AgentConfig.parse("apps:\n  b:\n    path: /srv/b\n    \(yaml)\n", file: "agent.yml")
                Issue.record("\(yaml): accepted")
            } catch {
                #expect("\(error)".lowercased().contains(hostile.mentions) || hostile.text.contains("\u{0}"),
                        "\(yaml): \(error)")
            }
        }
    }

    @Test(arguments: HostileInputs.paths)
    func restoreRefusesAHostilePathAndWritesNothing(hostile: HostileInputs.Case) throws {
        let before = tree()
        expectRefused(try ask("restore", ["snapshot": "latest", "paths": [hostile.text], "force": true]),
                      [.invalidPath], hostile, "restore --path")
        #expect(tree() == before, "restore --path \(hostile) wrote something")
        // The restorer's own check, for a caller that does not go through the request.
        #expect(throws: Restorer.Refusal.self) {
            _ = try Restorer(app: app, store: SnapshotStore(dir: app.snapshots.dir), manifest: Manifest(
                info: SnapshotInfo(id: "x", createdAt: Timestamp.now(), deploy: nil, commit: nil, files: 0, bytes: 0,
                                   linked: 0, copied: 0, copiedBytes: 0), dataDirs: ["out"], entries: []))
                .run(paths: [hostile.text], force: true) { _ in }
        }
        #expect(tree() == before)
    }

    @Test func restoreRefusesAPathThroughAPlantedLink() throws {
        let scan = try DataScan.walk(root: root, dataDirs: app.data)
        let store = SnapshotStore(dir: app.snapshots.dir)
        let manifest = try store.create(root: root, dataDirs: app.data, scan: scan, deploy: "d-test", commit: nil) {
            _, _ in
        }
        let before = try FileManager.default.contentsOfDirectory(atPath: tmp.path + "/outside")
        #expect(throws: Restorer.Refusal.self) {
            _ = try Restorer(app: app, store: store, manifest: manifest).run(paths: ["out/evil/secret.txt"],
                                                                              force: true) { _ in }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path + "/outside") == before)
        #expect(try String(contentsOfFile: tmp.path + "/outside/secret.txt", encoding: .utf8) == "outside\n")
    }

    @Test(arguments: HostileInputs.ids)
    func snapshotIdsAreRefusedByRestoreAndDownload(hostile: HostileInputs.Case) throws {
        let before = tree()
        expectRefused(try ask("restore", ["snapshot": hostile.text]), [.invalidSnapshot], hostile, "restore --snapshot")
        expectRefused(try ask("download", ["snapshot": hostile.text]), [.invalidSnapshot], hostile,
                      "download --snapshot")
        #expect(tree() == before, "\(hostile) wrote something")
        #expect(throws: InvalidInput.self) { try SnapshotID(validating: hostile.text, allowingLatest: true) }
    }

    @Test(arguments: HostileInputs.ids)
    func deployIdsAreRefusedByAttachAndUnlock(hostile: HostileInputs.Case) throws {
        let before = tree()
        expectRefused(try ask("attach", ["deploy": hostile.text]), [.invalidDeploy], hostile, "attach --deploy")
        expectRefused(try ask("unlock", ["deploy": hostile.text]), [.invalidDeploy], hostile, "unlock --deploy")
        #expect(tree() == before, "\(hostile) wrote something")
        #expect(throws: InvalidInput.self) { try DeployID(validating: hostile.text, deployOnly: false) }
        #expect(!DeployID.isValid(hostile.text))
    }

    @Test(arguments: HostileInputs.paths)
    func aManifestWithAHostilePathIsNeverUsed(hostile: HostileInputs.Case) throws {
        let dir = tmp.path + "/snapshots/s1"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let info = SnapshotInfo(id: "s1", createdAt: Timestamp.now(), deploy: nil, commit: nil, files: 1, bytes: 1, linked: 0,
                                copied: 1, copiedBytes: 1)
        let manifest = Manifest(info: info, dataDirs: ["out"],
                                entries: [.init(path: hostile.text, kind: .file, size: 1, hash: "xxh64:0")])
        let file = dir + "/" + Manifest.fileName
        try Data(manifest.encoded()).write(to: URL(fileURLWithPath: file))
        #expect(Manifest.load(file) == nil, "\(hostile)")
    }

    @Test func theLegitimateSpellingsStillPass() throws {
        for path in ["out", "out/history.jsonl", "paper_trading_outputs/2026-11/x.jsonl", "a/.hidden", "a/..b", "a*"] {
            #expect(RelativePath.isValid(path), "\(path)")
        }
        for id in ["20261125T101500Z", "20261125T101500Z-3f2c1e0b", "20261125T101500Z-3f2c1e0b-2", "latest"] {
            #expect(throws: Never.self) { try SnapshotID(validating: id, allowingLatest: true) }
        }
        #expect(throws: InvalidInput.self) { try SnapshotID(validating: "latest") }
        for id in ["d-20261125T101500Z-7f3a", DeployPlan.newID()] { #expect(DeployID.isValid(id), "\(id)") }
        #expect(throws: Never.self) { try DeployID(validating: "restore-20261125T101500Z-3f2c1e0b", deployOnly: false) }
        #expect(!DeployID.isValid("restore-20261125T101500Z-3f2c1e0b"), "attach wants a deploy's journal")
    }
}
