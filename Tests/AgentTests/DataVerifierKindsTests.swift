import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared

/// Verify and the data guard judge each file by its kind: what the app does to its own data (rewrite a state
/// file, rotate a log, replace a file by rename) is never "repaired"; what a deploy does to append-only data is.
@Suite struct DataVerifierKindsTests {
    private let tmp: TemporaryDirectory
    private let app: AppConfig
    private var root: String { tmp.path + "/app" }

    init() throws {
        tmp = try TemporaryDirectory()
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    data: [out, logs]\n    state: \(tmp.path)/state\n"
        app = try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
        try tmp.write("app/out/signals.jsonl", Self.lines(1...200))
        try tmp.write("app/out/state.json", "{\"n\":1}\n")
        try tmp.write("app/out/trades.csv", "seq\n1\n2\n")
        try tmp.write("app/logs/bot.log", Self.lines(1...50))
        try tmp.write("app/logs/bot.log.1", Self.lines(51...100))
    }

    private static func lines(_ range: ClosedRange<Int>) -> String {
        range.map { "{\"seq\":\($0)}\n" }.joined()
    }

    private var store: SnapshotStore { SnapshotStore(dir: app.snapshots.dir) }

    private func snapshot() throws -> Manifest {
        let scan = try DataScan.walk(root: root, dataDirs: app.data)
        return try store.create(root: root, dataDirs: app.data, kinds: app.kinds, scan: scan, deploy: "d-test",
                                commit: nil) { _, _ in }
    }

    private func verifier(_ manifest: Manifest) -> DataVerifier {
        DataVerifier(root: root, store: store, manifest: manifest, deploy: "d-test")
    }

    private func damages(_ manifest: Manifest, _ depth: DataVerifier.Depth = .full) throws -> [String] {
        var hashed: Int64 = 0
        return try verifier(manifest).inspect(depth, hashed: &hashed).map(\.entry.path).sorted()
    }

    private func read(_ relative: String) throws -> String {
        try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
    }

    private func replaceByRename(_ relative: String, _ content: String) throws {
        try tmp.write("app/" + relative + ".tmp", content)
        #expect(rename(root + "/" + relative + ".tmp", root + "/" + relative) == 0)
    }

    @Test func eachFileIsRecordedWithItsKindAndInode() throws {
        let manifest = try snapshot()
        let kinds = Dictionary(uniqueKeysWithValues: manifest.entries.filter { $0.kind == .file }.map { ($0.path, $0.data) })
        #expect(kinds == ["out/signals.jsonl": .append, "out/state.json": .mutable, "out/trades.csv": .mutable,
                          "logs/bot.log": .append, "logs/bot.log.1": .append])
        #expect(manifest.entries.filter { $0.kind == .file }.allSatisfy { $0.inode != nil })
        #expect(manifest.info.kinds == ["append": 3, "mutable": 2])
    }

    @Test func mutableFilesChangedOrReplacedByTheAppAreLeftAlone() throws {
        let manifest = try snapshot()
        try replaceByRename("out/state.json", "{\"n\":2}\n")
        try tmp.write("app/out/trades.csv", "seq\n1\n")
        #expect(try damages(manifest).isEmpty)
        let outcome = try verifier(manifest).run { _, _ in }
        #expect(outcome.repairs.isEmpty)
        #expect(try read("out/state.json") == "{\"n\":2}\n")
        #expect(try read("out/trades.csv") == "seq\n1\n")
    }

    @Test func aRotationByRenameIsNotDamage() throws {
        let manifest = try snapshot()
        // RotatingFileHandler: bot.log.1 → bot.log.2, bot.log → bot.log.1, a new bot.log.
        #expect(rename(root + "/logs/bot.log.1", root + "/logs/bot.log.2") == 0)
        #expect(rename(root + "/logs/bot.log", root + "/logs/bot.log.1") == 0)
        try tmp.write("app/logs/bot.log", Self.lines(101...102))
        #expect(try damages(manifest).isEmpty)
        let outcome = try verifier(manifest).run { _, _ in }
        #expect(outcome.repairs.isEmpty)
        #expect(try read("logs/bot.log") == Self.lines(101...102), "the new log is not overwritten")
        let names = try FileManager.default.contentsOfDirectory(atPath: root + "/logs").sorted()
        #expect(names == ["bot.log", "bot.log.1", "bot.log.2"], "nothing resurrected, no side files")
    }

    @Test func aCopyTruncateRotationIsNotDamage() throws {
        let manifest = try snapshot()
        let old = try read("logs/bot.log")
        #expect(rename(root + "/logs/bot.log.1", root + "/logs/bot.log.2") == 0)
        try tmp.write("app/logs/bot.log.1", old)
        #expect(truncate(root + "/logs/bot.log", 0) == 0)
        #expect(try damages(manifest).isEmpty)
        #expect(try verifier(manifest).run { _, _ in }.repairs.isEmpty)
        #expect(try read("logs/bot.log").isEmpty)
    }

    @Test func aTruncatedOrOverwrittenAppendOnlyFileIsDamage() throws {
        let manifest = try snapshot()
        #expect(truncate(root + "/out/signals.jsonl", 0) == 0)
        try tmp.write("app/logs/bot.log", "written by the new code, longer than before? no\n" + Self.lines(1...60))
        #expect(try damages(manifest) == ["logs/bot.log", "out/signals.jsonl"])
        #expect(try damages(manifest, .cheap) == ["out/signals.jsonl"], "the cheap check sees only the shrink")
        var hashed: Int64 = 0
        let found = try verifier(manifest).inspect(.full, hashed: &hashed)
        let shrunk = try #require(found.first { $0.entry.path == "out/signals.jsonl" })
        #expect(shrunk.describe("after the restart") == "out/signals.jsonl: 2.2 KiB → 0 B after the restart")
        // The rollback's repair: the damaged file moves aside whole, the snapshot's bytes come back.
        _ = try verifier(manifest).repairAside(shrunk)
        #expect(try read("out/signals.jsonl") == Self.lines(1...200))
        let aside = try FileManager.default.contentsOfDirectory(atPath: root + "/out")
            .filter { $0.hasPrefix("signals.jsonl.shipkeep-d-test-") }
        #expect(aside.count == 1)
    }

    @Test func theRollbackPutsBackWhatWasAppendedBeforeTheRestartToo() throws {
        let manifest = try snapshot()
        let handle = try #require(FileHandle(forWritingAtPath: root + "/out/signals.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(Self.lines(201...230).utf8))
        try handle.close()
        let tail = AppendedTail(dir: tmp.path + "/tail")
        #expect(try tail.capture(root: root, manifest: manifest) == Int64(Self.lines(201...230).utf8.count))
        // The new code opens the file with "w" and writes its own line.
        try tmp.write("app/out/signals.jsonl", "{\"new\":true}\n")
        var hashed: Int64 = 0
        let found = try #require(try verifier(manifest).inspect(.cheap, hashed: &hashed).first)
        let repair = try verifier(manifest).repairAside(found, tail: tail)
        #expect(try read("out/signals.jsonl") == Self.lines(1...230), "every line up to the restart is back")
        #expect(repair.message.contains("appended before the restart"), "\(repair.message)")
    }

    @Test func aVanishedFileIsRestoredUnlessARotationTookIt() throws {
        let manifest = try snapshot()
        #expect(unlink(root + "/out/state.json") == 0)
        #expect(try damages(manifest) == ["out/state.json"])
        let outcome = try verifier(manifest).run { _, _ in }
        #expect(outcome.repairs.map(\.path) == ["out/state.json"])
        #expect(try read("out/state.json") == "{\"n\":1}\n")

        // A rotation that compresses and drops the old file: bot.log.1 → bot.log.2.gz, bot.log → bot.log.1.
        let rotated = try snapshot()
        #expect(rename(root + "/logs/bot.log.1", root + "/logs/bot.log.2.gz") == 0)
        #expect(rename(root + "/logs/bot.log", root + "/logs/bot.log.1") == 0)
        try tmp.write("app/logs/bot.log", "")
        #expect(try damages(rotated).isEmpty)
    }

    @Test func theAppsPassingFilesAreNotBroughtBack() throws {
        _ = try snapshot()
        // A state file's temporary copy the app renames away a moment later, and a new file it deletes itself.
        try tmp.write("app/out/.state.json.8f3a.tmp", "{\"n\":3}\n")
        try tmp.write("app/out/orders.json", "[]\n")
        let manifest = try snapshot()
        #expect(manifest.entries.first { $0.path == "out/orders.json" }?.firstSeen == true)
        #expect(manifest.entries.first { $0.path == "out/state.json" }?.firstSeen == nil)
        #expect(unlink(root + "/out/.state.json.8f3a.tmp") == 0)
        #expect(unlink(root + "/out/orders.json") == 0)
        #expect(try damages(manifest).isEmpty)
        #expect(try verifier(manifest).run { _, _ in }.repairs.isEmpty)
        // A file that has been there since the last snapshot is data: it comes back.
        #expect(unlink(root + "/out/state.json") == 0)
        #expect(try damages(manifest) == ["out/state.json"])
    }

    @Test func aFileWithSQLitesHeaderIsADatabaseWhateverItsName() throws {
        // A real database (the snapshot backs databases up through SQLite, which refuses a file that only has
        // the header), then changed by "the app".
        let path = root + "/out/trades.jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        try SQLiteDatabase(copyAt: path).execute("CREATE TABLE trades (seq INTEGER PRIMARY KEY)")
        let manifest = try snapshot()
        #expect(manifest.entries.first { $0.path == "out/trades.jsonl" }?.data == .sqlite)
        try SQLiteDatabase(copyAt: path).execute("INSERT INTO trades VALUES (1)")
        #expect(try damages(manifest, .prefixes).isEmpty, "a database changed by the app is not repaired")
    }
}
