import Foundation
import Shared
import Testing
@testable import Agent

/// The systemctl command lines the agent runs per scope and user, and the one-line explanations of refusals.
@Suite struct SystemctlTests {
    @Test func aUserUnitGoesToTheUsersManagerWithItsRuntimeDir() {
        let user = Systemctl(unit: "bot.service", scope: .user, uid: 1000)
        #expect(user.restart == ["systemctl", "--user", "restart", "--", "bot.service"])
        #expect(user.isActive == ["systemctl", "--user", "is-active", "--quiet", "--", "bot.service"])
        let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] ?? ""
        #expect(user.environment["XDG_RUNTIME_DIR"] == (runtime.isEmpty ? "/run/user/1000" : runtime))
    }

    @Test func aSystemUnitIsRestartedThroughSudoWithTheSudoersRulesExactWords() {
        let asDeploy = Systemctl(unit: "bot.service", scope: .system, uid: 1000)
        #expect(asDeploy.restart == ["sudo", "-n", "systemctl", "restart", "bot.service"])
        #expect(asDeploy.isActive == ["systemctl", "is-active", "--quiet", "--", "bot.service"])
        #expect(asDeploy.environment.isEmpty)
        #expect(Systemctl(unit: "bot.service", scope: .system, uid: 0).restart
            == ["systemctl", "restart", "--", "bot.service"])
    }

    @Test(arguments: ["sudo: a password is required", "Failed to restart bot.service: Access denied",
                      "Failed to restart bot.service: Interactive authentication required."])
    func aRefusalNamesBothSetUps(said: String) {
        let line = Systemctl(unit: "bot.service", scope: .system, uid: 0)
            .explain("bot.service restart (sudo -n systemctl restart bot.service) exited with status 1: \(said)",
                     timeout: 1)
        #expect(line.contains("may not restart the system unit bot.service"), "\(line)")
        #expect(line.contains(SudoersRule.line(user: "root", units: ["bot.service"])), "\(line)")
        #expect(line.contains("scope: user"), "\(line)")
        #expect(!line.contains("\n"))
    }

    @Test func aUserUnitWithoutAManagerAsksForLingering() {
        let line = Systemctl(unit: "bot.service", scope: .user, uid: 0)
            .explain("bot.service restart exited with status 1: Failed to connect to bus: No medium found", timeout: 1)
        #expect(line.contains("enable-linger"), "\(line)")
    }

    @Test func onlyTheStartLimitExplanationIsFinal() {
        #expect(Systemctl.reportsStartLimit("bot.service hit systemd's start limit (start-limit-hit: started too often"))
        #expect(!Systemctl.reportsStartLimit("bot.service check (systemctl is-active) exited with status 3"))
    }
}
