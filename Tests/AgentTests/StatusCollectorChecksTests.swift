import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared

/// The checks status runs (as the deploy's health phase does) and where it measures free disk.
@Suite(.serialized, .timeLimit(.minutes(10))) struct StatusCollectorChecksTests {
    private func git(_ args: [String], in dir: String) throws {
        let outcome = try ProcessRunner.run(["git", "-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"] + args,
                                            timeout: 30)
        #expect(outcome.succeeded, "git \(args): \(outcome.stderr)")
    }

    private func app(_ tmp: TemporaryDirectory, extra: String = "", state: String? = nil) throws -> AppConfig {
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    data: [out, logs]\n"
            + "    state: \(state ?? tmp.path + "/state")\n" + extra
        try tmp.write("app/bot.py", "print('v1')\n")
        try tmp.write("app/out/a.jsonl", "1\n")
        try tmp.write("app/logs/bot.log", "1\n")
        try git(["init", "-q", "-b", "main"], in: tmp.path + "/app")
        try git(["add", "bot.py"], in: tmp.path + "/app")
        try git(["commit", "-q", "-m", "v1"], in: tmp.path + "/app")
        return try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
    }

    @Test func servicesHealthCommandAndFreshnessAreRunAndTimed() throws {
        let tmp = try TemporaryDirectory()
        let config = try app(tmp, extra: """
                services:
                  - { name: bot, restart: ["true"], check: ["true"] }
                  - { name: broken, restart: ["true"], check: ["sh", "-c", "echo no pid >&2; exit 3"] }
                  - { name: nocheck, restart: ["true"] }
                health:
                  command: ["true"]
                  fresh: { path: out, within: 60 }

            """)
        let status = StatusCollector().collect(config)
        let checks = try #require(status.checks)
        #expect(checks.map(\.kind) == [.service, .service, .command, .fresh, .data, .data])
        #expect(checks.map(\.name) == ["bot", "broken", "health", "out", "out", "logs"])
        #expect(checks.map(\.ok) == [true, false, true, true, true, true])
        #expect(checks[1].message == "broken check (sh -c echo no pid >&2; exit 3) exited with status 3: no pid")
        #expect(checks.allSatisfy { $0.seconds >= 0 && $0.seconds < 30 })
        #expect(status.health == .critical)
        #expect(status.reasons.first == checks[1].message)
    }

    @Test func staleDataIsCriticalWithItsAge() throws {
        let tmp = try TemporaryDirectory()
        let config = try app(tmp, extra: "    health:\n      fresh: { path: out, within: 10 }\n")
        var times = [timespec(tv_sec: time(nil) - 600, tv_nsec: 0), timespec(tv_sec: time(nil) - 600, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, tmp.path + "/app/out/a.jsonl", &times, 0) == 0)
        let status = StatusCollector().collect(config)
        #expect(status.health == .critical)
        let reason = try #require(status.reasons.first)
        #expect(reason.hasPrefix("out is stale: last written 60"), "\(reason)")
        #expect(reason.hasSuffix("s ago (fresh within 10s)"), "\(reason)")
    }

    /// A hanging check is killed at its service's timeout; the checks after it still run within the budget.
    @Test func aHangingCheckIsBoundedByItsTimeout() throws {
        let tmp = try TemporaryDirectory()
        let config = try app(tmp, extra: """
                services:
                  - { name: hang, restart: ["true"], check: ["sleep", "300"], timeout: 1 }
                  - { name: bot, restart: ["true"], check: ["true"] }

            """)
        let started = Date()
        let status = StatusCollector().collect(config)
        #expect(Date().timeIntervalSince(started) < 10)
        let checks = try #require(status.checks)
        #expect(checks.first?.message?.contains("timed out after 1s and was killed") == true, "\(checks)")
        #expect(checks.dropFirst().first?.ok == true)
    }

    /// While a live deploy holds the lock the service checks are skipped and said to be; once the holder is gone
    /// they run again.
    @Test func aLiveDeployHoldingTheLockSkipsTheServiceChecks() throws {
        let tmp = try TemporaryDirectory()
        let config = try app(tmp, extra: "    services:\n      - { name: bot, restart: [\"true\"], check: [\"false\"] }\n")
        try tmp.write("state/lock", #"{"deploy":"d-9","controller":"ci","commit":"abc","startedAt":"2026-11-25T10:00:00Z","pid":1}"#)
        let holder = try ProcessRunner.spawnDetached(["flock", "-o", tmp.path + "/state/lock", "sleep", "60"],
                                                     output: open("/dev/null", O_WRONLY | O_CLOEXEC))
        try waitFor { DeployLock.inspect(StateDirectory(path: config.state))?.alive == true }
        let during = StatusCollector().collect(config)
        #expect(during.health == .ok, "\(during.reasons)")
        #expect(during.checksSkipped?.contains("deploy d-9 holds the lock") == true)
        #expect(during.checks?.map(\.kind) == [.data, .data])

        kill(holder, SIGKILL)
        var code: Int32 = 0
        waitpid(holder, &code, 0)
        try waitFor { DeployLock.inspect(StateDirectory(path: config.state))?.alive != true }
        let after = StatusCollector().collect(config)
        #expect(after.checksSkipped == nil)
        #expect(after.health == .critical)
        #expect(after.checks?.first?.ok == false)
    }

    /// Free space is that of each data dir's own filesystem: a full data volume (a small tmpfs mounted on the
    /// data dir) is critical although the work tree's disk has room.
    @Test func aFullDataVolumeIsCriticalWhateverTheWorkTreesDisk() throws {
        guard geteuid() == 0 else {
            Issue.record("this test mounts a tmpfs and needs root (the test machines run as root)")
            return
        }
        let tmp = try TemporaryDirectory()
        let config = try app(tmp)
        let mounted = try ProcessRunner.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", tmp.path + "/app/out"],
                                            timeout: 30)
        #expect(mounted.succeeded, "mount: \(mounted.stderr)")
        defer { _ = try? ProcessRunner.run(["umount", "-l", tmp.path + "/app/out"], timeout: 30) }
        let fill = try ProcessRunner.run(["sh", "-c", "cat /dev/zero > \"$1\"/fill; true", "sh", tmp.path + "/app/out"],
                                         timeout: 30)
        #expect(fill.succeeded)
        let status = StatusCollector().collect(config)
        let out = try #require(status.disks.first { $0.dir == "out" })
        #expect(out.freeBytes == 0)
        #expect(out.totalBytes == 256 * 1024)
        let logs = try #require(status.disks.first { $0.dir == "logs" })
        #expect(logs.totalBytes != out.totalBytes, "logs is on the work tree's disk")
        #expect(status.health == .critical)
        #expect(status.reasons.contains("the disk of the data dir out has 0 B free (0%)"), "\(status.reasons)")
    }

    private func waitFor(_ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            guard Date() < deadline else { throw SandboxError("timed out waiting for the lock") }
            usleep(10_000)
        }
    }
}
