import Testing
@testable import Controller

/// The units `install --snapshot-timer` writes: one ExecStart word per argument whatever the paths hold, no systemd
/// specifier or variable expanded, the user's manager unless the user is root.
@Suite struct SnapshotTimerUnitsTests {
    @Test func plainPathsStayPlainAndOddOnesAreOneLiteralWord() {
        let agent = "/home/deploy/.local/bin/shipkeep-agent"
        #expect(SnapshotTimerUnits.quote(agent) == agent)
        #expect(SnapshotTimerUnits.quote("/srv/my bots/agent.yml") == "\"/srv/my bots/agent.yml\"")
        #expect(SnapshotTimerUnits.quote("/srv/100%/$HOME/a\"b\\c") == "\"/srv/100%%/$$HOME/a\\\"b\\\\c\"")
        #expect(SnapshotTimerUnits.quote("/srv/a;b") == "\"/srv/a;b\"")
        #expect(SnapshotTimerUnits.quote("") == "\"\"")
    }

    @Test func theServiceRunsTheAgentsSnapshotAndTheTimerTheCalendar() {
        let units = SnapshotTimerUnits(app: "bots", agent: "/opt/shipkeep agent", config: "/etc/shipkeep/agent.yml",
                                       calendar: "*:0/15")
        #expect(units.service == "shipkeep-snapshot-bots.service" && units.timer == "shipkeep-snapshot-bots.timer")
        #expect(units.serviceText.hasPrefix(SnapshotTimerUnits.marker + "\n"))
        #expect(units.serviceText.contains(
            "\nExecStart=\"/opt/shipkeep agent\" snapshot --config /etc/shipkeep/agent.yml --app bots\n"))
        #expect(units.serviceText.contains("\nType=oneshot\n") && units.serviceText.contains("\nSuccessExitStatus=4\n"))
        #expect(units.timerText.hasPrefix(SnapshotTimerUnits.marker + "\n"))
        #expect(units.timerText.contains("\nOnCalendar=*:0/15\n"))
        #expect(units.timerText.contains("\nWantedBy=timers.target\n"))
    }

    @Test func aCalendarThatSpansLinesIsRefusedBeforeConnecting() {
        #expect(throws: ControllerError.self) { try SnapshotTimerUnits.checkCalendar("hourly\nExecStart=/bin/sh") }
        #expect(throws: ControllerError.self) { try SnapshotTimerUnits.checkCalendar("  ") }
        #expect(throws: Never.self) { try SnapshotTimerUnits.checkCalendar("Mon..Fri 02:00") }
    }

    @Test func theUsersOwnManagerUnlessRoot() {
        let user = SnapshotTimerScope.forUser("deploy", uid: "1000", home: "/home/deploy")
        #expect(user.directory == "/home/deploy/.config/systemd/user" && user.user)
        #expect(user.systemctl == ["env", "XDG_RUNTIME_DIR=/run/user/1000", "systemctl", "--user"])
        let root = SnapshotTimerScope.forUser("root", uid: "0", home: "/root")
        #expect(root.directory == "/etc/systemd/system" && !root.user && root.systemctl == ["systemctl"])
        #expect(Installer.absolute(".local/bin/a", home: "/home/d") == "/home/d/.local/bin/a")
        #expect(Installer.absolute("~/x", home: "/home/d") == "/home/d/x")
    }
}
