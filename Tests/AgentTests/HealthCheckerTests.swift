import Foundation
import Shared
import ShipkeepSandbox
import Testing
@testable import Agent

// A hang guard, not a speed bound: in a full run on 2 cores these wait behind end-to-end tests that hold the
// test runner's threads, and the time limit counts that wait (a 1-minute limit once ran out so, at 81 s).
@Suite(.timeLimit(.minutes(10))) struct HealthCheckerTests {
    private func app(_ tmp: TemporaryDirectory, command: String, timeout: Int, settle: Int = 0) throws -> AppConfig {
        let yaml = """
            apps:
              bots:
                path: \(tmp.path)
                data: [out]
                state: \(tmp.path)/state
                health:
                  command: ["sh", "-c", "\(command)"]
                  timeout: \(timeout)
                  settle: \(settle == 0 ? "null" : String(settle))
            """
        return try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
    }

    /// A check that passes on its fourth attempt makes the app healthy; the attempts are counted in a file.
    @Test func aCheckThatPassesOnALaterAttemptIsHealthy() throws {
        let tmp = try TemporaryDirectory()
        let app = try app(tmp, command: "echo x >> attempts; [ $(wc -l < attempts) -ge 4 ]", timeout: 30)
        let checker = HealthChecker(app: app, services: Services(app: app) { _, _, _ in })
        #expect(checker.wait() == nil)
        #expect(try String(contentsOfFile: tmp.path + "/attempts", encoding: .utf8).split(separator: "\n").count == 4)
    }

    /// Retries start fast (a bot is usually up within milliseconds) and back off, so a failing check runs
    /// several times in the first second but is not run hot: with the old fixed half second, a 1 s health
    /// timeout gave 3 attempts; with no wait at all it would give hundreds.
    @Test func retriesBackOffFromAFastFirstRetry() throws {
        let tmp = try TemporaryDirectory()
        let app = try app(tmp, command: "echo x >> attempts; exit 1", timeout: 1)
        let checker = HealthChecker(app: app, services: Services(app: app) { _, _, _ in })
        let failure = checker.wait()
        #expect(failure?.contains("health command") == true)
        let attempts = try String(contentsOfFile: tmp.path + "/attempts", encoding: .utf8).split(separator: "\n").count
        #expect(attempts >= 5 && attempts <= 12, "\(attempts) attempts in a 1 s health timeout")
    }

    /// With `settle`, a check that passes once and then fails (a bot that writes and then crashes) is not
    /// healthy; without it, the first pass is enough.
    @Test func withSettleAPassThatDoesNotLastIsUnhealthy() throws {
        let flaky = "echo x >> attempts; [ $(wc -l < attempts) -eq 2 ]"
        let tmp = try TemporaryDirectory()
        let settling = try app(tmp, command: flaky, timeout: 3, settle: 1)
        let failure = HealthChecker(app: settling, services: Services(app: settling) { _, _, _ in }).wait()
        #expect(failure?.contains("health command") == true, "\(String(describing: failure))")

        let other = try TemporaryDirectory()
        let eager = try app(other, command: flaky, timeout: 3)
        #expect(HealthChecker(app: eager, services: Services(app: eager) { _, _, _ in }).wait() == nil)
    }

    /// A check that keeps passing is healthy once it has passed for the whole settle time, and not before.
    @Test func withSettleALastingPassIsHealthyAfterTheSettleTime() throws {
        let tmp = try TemporaryDirectory()
        let app = try app(tmp, command: "echo x >> attempts", timeout: 5, settle: 1)
        let started = Date()
        #expect(HealthChecker(app: app, services: Services(app: app) { _, _, _ in }).wait() == nil)
        #expect(Date().timeIntervalSince(started) >= 1)
        let attempts = try String(contentsOfFile: tmp.path + "/attempts", encoding: .utf8).split(separator: "\n").count
        #expect(attempts >= 3, "checked \(attempts) times during the settle")
    }
}
