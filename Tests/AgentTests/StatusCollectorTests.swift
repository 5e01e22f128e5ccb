import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared

@Suite(.timeLimit(.minutes(10))) struct StatusCollectorTests {
    private func git(_ args: [String], in dir: String) throws {
        let outcome = try ProcessRunner.run(["git", "-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"] + args,
                                            timeout: 30)
        #expect(outcome.succeeded, "git \(args): \(outcome.stderr)")
    }

    private func app(_ tmp: TemporaryDirectory) throws -> AppConfig {
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    data: [out, logs]\n    state: \(tmp.path)/state\n"
        return try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
    }

    private func makeRepo(_ tmp: TemporaryDirectory) throws {
        try tmp.write("app/bot.py", "print('v1')\n")
        try git(["init", "-q", "-b", "main"], in: tmp.path + "/app")
        try git(["add", "-A"], in: tmp.path + "/app")
        try git(["commit", "-q", "-m", "v1 bot"], in: tmp.path + "/app")
    }

    @Test func aCleanCheckoutWithDataIsOKAndCounted() throws {
        let tmp = try TemporaryDirectory()
        try makeRepo(tmp)
        try tmp.write("app/out/a.jsonl", String(repeating: "x", count: 1000))
        try tmp.write("app/out/nested/b.jsonl", String(repeating: "y", count: 24))
        try tmp.write("app/logs/bot.log", "hello\n")
        symlink("/etc", tmp.path + "/app/out/escape")  // must not be followed or counted
        let status = StatusCollector().collect(try app(tmp))
        #expect(status.health == .ok, "\(status.reasons)")
        #expect(status.head?.subject == "v1 bot")
        #expect(status.head?.branch == "main")
        #expect(status.head?.commit.count == 40)
        #expect(status.dirty == false)
        #expect(status.data[0] == DataDirStatus(path: "out", exists: true, bytes: 1024, files: 2,
                                                newestMtime: status.data[0].newestMtime))
        #expect(status.data[0].newestMtime != nil)
        #expect(status.data[1].files == 1)
        #expect(status.disks.map(\.role) == ["data", "data", "state", "snapshots"])
        #expect(status.disks.map(\.dir) == ["out", "logs", nil, nil])
        #expect(status.checks?.map(\.kind) == [.data, .data])
        #expect(status.checksSkipped == nil)
        #expect(status.lock == nil)
        #expect(status.lastDeploy == nil)
    }

    /// Totals come from a walk by directory descriptor: nested files count, links are never followed — not
    /// below the dir, and not the dir itself when it is a link.
    @Test func directoryTotalsCountNestedFilesAndFollowNoLink() throws {
        let tmp = try TemporaryDirectory()
        try tmp.write("out/a.jsonl", "12345")
        try tmp.write("out/deep/er/b.jsonl", "123")
        try tmp.write("elsewhere/c.jsonl", String(repeating: "z", count: 100))
        symlink(tmp.path + "/elsewhere", tmp.path + "/out/link")
        symlink(tmp.path + "/elsewhere", tmp.path + "/linked-out")
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_700_000_000, tv_nsec: 5)]
        #expect(utimensat(AT_FDCWD, tmp.path + "/out/deep/er/b.jsonl", &times, 0) == 0)
        times[1] = timespec(tv_sec: 1_600_000_000, tv_nsec: 0)
        #expect(utimensat(AT_FDCWD, tmp.path + "/out/a.jsonl", &times, 0) == 0)

        let stats = try #require(DirectoryStats.measure(tmp.path + "/out"))
        #expect(stats.files == 2 && stats.bytes == 8)
        #expect(stats.newestMtime == Timestamp(timeIntervalSince1970: 1_700_000_000.000000005))
        #expect(DirectoryStats.measure(tmp.path + "/linked-out") == nil)
        #expect(DirectoryStats.measure(tmp.path + "/missing") == nil)
        #expect(DirectoryStats.measure(tmp.path + "/out/a.jsonl") == nil)
    }

    @Test func modifiedTrackedFilesAndMissingDataDirsAreWarnings() throws {
        let tmp = try TemporaryDirectory()
        try makeRepo(tmp)
        try tmp.write("app/bot.py", "print('hacked on the VM')\n")
        try tmp.write("app/untracked.txt", "not counted\n")
        let status = StatusCollector().collect(try app(tmp))
        #expect(status.health == .warning)
        #expect(status.dirty == true)
        #expect(status.dirtyPaths == ["bot.py"])
        #expect(status.reasons.contains { $0.contains("bot.py") })
        #expect(status.reasons.contains { $0.contains("data dir out does not exist") })
    }

    @Test func aLockHeldByALiveProcessIsReportedAndADeadHoldersLockIsStale() throws {
        let tmp = try TemporaryDirectory()
        try makeRepo(tmp)
        let config = try app(tmp)
        try tmp.write("app/out/x", "1")
        try tmp.write("app/logs/x", "1")
        try tmp.write("state/lock", #"{"deploy":"d-1","controller":"ci","commit":"abc","startedAt":"2026-11-25T10:00:00Z","pid":1}"#)
        // A real holder: util-linux flock(1) holds the lock itself (-o: its child does not inherit it).
        // Not Foundation's Process: its child reaping can block on another test's long-lived child.
        let holder = try ProcessRunner.spawnDetached(["flock", "-o", tmp.path + "/state/lock", "sleep", "60"],
                                                     output: open("/dev/null", O_WRONLY | O_CLOEXEC))
        let deadline = Timestamp.now().addingTimeInterval(10)
        var seen: LockHolder?
        while Timestamp.now() < deadline {
            seen = DeployLock.inspect(StateDirectory(path: config.state))
            if seen?.alive == true { break }
            usleep(10_000)
        }
        #expect(seen?.alive == true)
        #expect(seen?.deploy == "d-1")
        #expect(StatusCollector().collect(config).health == .ok)

        kill(holder, SIGKILL)
        var status: Int32 = 0
        waitpid(holder, &status, 0)
        let released = Timestamp.now().addingTimeInterval(10)
        while Timestamp.now() < released, DeployLock.inspect(StateDirectory(path: config.state))?.alive == true { usleep(20_000) }
        let stale = StatusCollector().collect(config)
        #expect(stale.lock?.alive == false)
        #expect(stale.health == .warning)
        #expect(stale.reasons.contains { $0.contains("died holding the lock") })
    }

    @Test func aFailedLastDeployIsAWarningWithItsMessage() throws {
        let tmp = try TemporaryDirectory()
        try makeRepo(tmp)
        try tmp.write("app/out/x", "1")
        try tmp.write("app/logs/x", "1")
        try tmp.write("state/last-deploy.json", #"{"deploy":"d-2","commit":"abc","startedAt":"2026-11-25T10:00:00Z","finishedAt":"2026-11-25T10:01:00Z","outcome":"rolled_back","message":"check.sh exited 1"}"#)
        let status = StatusCollector().collect(try app(tmp))
        #expect(status.lastDeploy?.outcome == .rolledBack)
        #expect(status.health == .warning)
        #expect(status.reasons == ["last deploy d-2 rolled back: check.sh exited 1"])
    }
}
