import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent

/// `shipkeep-agent snapshot-bench`, which `make bench` times the snapshot step with.
// A hang guard, not a speed bound: in a full run on 2 cores these wait behind end-to-end tests that hold the
// test runner's threads, and the time limit counts that wait (a 1-minute limit once ran out so, at 81 s).
@Suite(.timeLimit(.minutes(10))) struct SnapshotBenchCommandTests {
    @Test func aFirstSnapshotCopiesAndASecondOfUnchangedDataLinks() throws {
        let tmp = try TemporaryDirectory()
        for index in 0..<5 {
            try tmp.write("app/out/file_\(index).jsonl", String(repeating: "line \(index)\n", count: 50))
        }
        try tmp.write("app/logs/bot.log", "started\n")
        let snapshots = tmp.path + "/snapshots"
        let root = tmp.path + "/app"

        let first = try SnapshotBenchCommand.measure(root: root, data: ["out", "logs"], snapshots: snapshots)
        #expect(first.snapshot.files == 6 && first.snapshot.copied == 6 && first.snapshot.linked == 0)
        #expect(first.scanSeconds >= 0 && first.snapshotSeconds > 0)

        let second = try SnapshotBenchCommand.measure(root: root, data: ["out", "logs"], snapshots: snapshots)
        #expect(second.snapshot.files == 6 && second.snapshot.linked == 6 && second.snapshot.copied == 0)
        #expect(second.snapshot.id != first.snapshot.id)
        let kept = try FileManager.default.contentsOfDirectory(atPath: snapshots).sorted()
        #expect(kept == [first.snapshot.id, second.snapshot.id].sorted())
    }

    @Test func withoutADataDirItIsRefused() {
        #expect(throws: (any Error).self) {
            _ = try SnapshotBenchCommand.parse(["--root", "/tmp", "--snapshots", "/tmp/s"])
        }
    }
}
