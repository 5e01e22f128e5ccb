import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared

/// Old deploys' files are pruned, but never those a restore, a rollback or a live worker still needs.
@Suite(.timeLimit(.minutes(10))) struct DeployPruneTests {
    @Test func keepsTheNewestTwentyThoseWithAKeptSnapshotAndUnfinishedOnes() throws {
        let tmp = try TemporaryDirectory()
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    state: \(tmp.path)/state\n"
        let app = try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
        let state = StateDirectory(path: app.state)
        let ids = (0..<30).map { String(format: "d-20260101T0000%02dZ-%04x", $0, $0) }
        for (index, id) in ids.enumerated() {
            let journal = try Journal(state: state, deploy: id)
            // The second oldest never got a result: its worker may still be starting.
            if index != 1 { journal.append(.result(.success), id: id) }
            try DeployPlan(deploy: id, app: "bots", startedAt: Timestamp.now(), snapshot: index == 0 ? "S1" : nil).save(state)
            try DeployRequestFile.write(Command.Deploy(app: "bots"), deploy: id, state: state)
        }
        // The oldest deploy's snapshot is still kept.
        try tmp.write("state/snapshots/S1/manifest.json", "{}")

        let removed = state.pruneDeploys(app: app, running: ids[29])
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: state.deploysDir)
            .compactMap { $0.split(separator: ".").first.map(String.init) })
        #expect(Set(removed) == Set(ids[2..<10]))
        #expect(left == Set([ids[0], ids[1]] + ids[10...]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.deploysDir).count == left.count * 3)
    }

    /// A deploy's files are kept while its snapshot is; once retention removes the snapshot, they go with it
    /// (beyond the newest twenty): snapshots taken hourly by a timer do not make the journals grow without end.
    @Test func journalsArePrunedWithTheirSnapshots() throws {
        let tmp = try TemporaryDirectory()
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    state: \(tmp.path)/state\n"
        let app = try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
        let state = StateDirectory(path: app.state)
        let ids = (0..<25).map { String(format: "d-20260101T0000%02dZ-%04x", $0, $0) }
        for (index, id) in ids.enumerated() {
            let snapshot = String(format: "20260101T0000%02dZ", index)
            try Journal(state: state, deploy: id).append(.result(.success), id: id)
            try DeployPlan(deploy: id, app: "bots", startedAt: Timestamp.now(), snapshot: snapshot).save(state)
            try tmp.write("state/snapshots/\(snapshot)/manifest.json", "{}")
        }
        #expect(state.pruneDeploys(app: app, running: ids[24]).isEmpty, "every snapshot is kept: so are its deploys")
        let pruned = SnapshotStore(dir: app.snapshots.dir).prune(RetentionPolicy(keep: 3))
        #expect(pruned.count == 22)
        #expect(Set(state.pruneDeploys(app: app, running: ids[24])) == Set(ids[0..<2]))
        #expect(!FileManager.default.fileExists(atPath: state.journal(ids[0])))
        #expect(FileManager.default.fileExists(atPath: state.journal(ids[2])))
    }
}
