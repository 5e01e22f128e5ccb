import Testing
@testable import Agent

/// `systemctl stop` and `start` for `shipkeep stop|start`, spelled as the restart is for each scope.
@Suite(.timeLimit(.minutes(10)))
struct SystemctlControlTests {
    @Test func stopAndStartFollowTheRestartsSpelling() {
        let user = Systemctl(unit: "bot.service", scope: .user, uid: 1000)
        #expect(user.argv("stop") == ["systemctl", "--user", "stop", "--", "bot.service"])
        #expect(Systemctl(unit: "bot.service", scope: .system, uid: 0).argv("start")
            == ["systemctl", "start", "--", "bot.service"])
        // Through sudo, word for word as a sudoers rule names it (no "--").
        #expect(Systemctl(unit: "bot.service", scope: .system, uid: 1000).argv("stop")
            == ["sudo", "-n", "systemctl", "stop", "bot.service"])
        #expect(user.argv("restart") == user.restart)
    }
}
