import Foundation
@testable import Shared
import ShipkeepSandbox
import Testing
@testable import Agent

/// `health.fresh` counts what changed after the restart, whatever the file times say.
@Suite struct FreshnessWatchTests {
    private let check = FreshnessCheck(path: "out", within: 10)

    @Test func aFileTimeAheadOfTheClockIsNotAFreshWrite() throws {
        let tmp = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: tmp.path + "/out", withIntermediateDirectories: true)
        let file = tmp.path + "/out/signals.jsonl"
        try "1\n".write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(60)], ofItemAtPath: file)
        var watch = FreshnessWatch(check, root: tmp.path)
        #expect(watch.failure()?.contains("nothing under out was written since the restart") == true)

        let handle = try #require(FileHandle(forWritingAtPath: file))
        handle.seekToEndOfFile()
        handle.write(Data("2\n".utf8))
        try handle.close()
        #expect(watch.failure() == nil, "an append after the restart is fresh")
    }

    @Test func aChangeGoesStaleAfterWithinSeconds() throws {
        let tmp = try TemporaryDirectory()
        var watch = FreshnessWatch(check, root: tmp.path)
        #expect(watch.failure() != nil, "no out dir yet")
        try FileManager.default.createDirectory(atPath: tmp.path + "/out", withIntermediateDirectories: true)
        try "1\n".write(toFile: tmp.path + "/out/a", atomically: true, encoding: .utf8)
        let now = Timestamp.now()
        #expect(watch.failure(now: now) == nil)
        #expect(watch.failure(now: now.addingTimeInterval(9)) == nil)
        #expect(watch.failure(now: now.addingTimeInterval(11))?.contains("was written for 11s") == true)
    }

    @Test func anAppWithoutAnyCheckGetsOneWarning() throws {
        let yaml = """
            apps:
              bots:
                path: /srv/bots
                services:
                  - name: bot
                    restart: ["./restart.sh"]
            """
        let app = try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
        #expect(HealthChecker.uncheckedWarning(app)?.code == "no_health_check")
        let checked = try #require(try AgentConfig.parse(yaml + "\n        check: [\"./check.sh\"]\n",
                                                         file: "agent.yml").app("bots"))
        #expect(HealthChecker.uncheckedWarning(checked) == nil)
    }
}
