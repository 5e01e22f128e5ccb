import Testing
@testable import Shared

/// agent.yml's keys for `restart`, `stop`, `start` and the restart gate.
@Suite struct OperationsConfigTests {
    private static let yaml = """
        apps:
          bots:
            path: /srv/bots
            data: [logs]
            gate: ["./trade-open.sh", "--quiet"]
            gate_timeout: 120
            services:
              - name: bot
                restart: ["./restart.sh"]
                stop: ["./stop.sh"]
              - name: feeder
                restart: ["./feeder.sh", "restart"]
                start: ["./feeder.sh", "start"]
              - systemd: paper-bot.service
        """

    private func failure(_ yaml: String) -> ConfigError? {
        do {
            _ = try AgentConfig.parse(yaml, file: "agent.yml", home: "/home/deploy")
            return nil
        } catch {
            return error
        }
    }

    @Test func theGateAndStopAndStartAreRead() throws {
        let app = try #require(try AgentConfig.parse(Self.yaml, file: "agent.yml", home: "/home/deploy").app("bots"))
        #expect(app.gate == GateConfig(command: ["./trade-open.sh", "--quiet"], timeout: 120))
        #expect(app.stopCommand(of: "bot") == ["./stop.sh"])
        #expect(app.stopCommand(of: "feeder") == nil)
        #expect(app.startCommand(of: "bot") == ["./restart.sh"], "start defaults to restart")
        #expect(app.startCommand(of: "feeder") == ["./feeder.sh", "start"])
    }

    @Test func theGateIsOptionalAndItsTimeoutDefaultsToFiveMinutes() throws {
        let plain = "apps:\n  bots:\n    path: /srv/bots\n    gate: [\"./gate.sh\"]\n"
        let app = try #require(try AgentConfig.parse(plain, file: "agent.yml", home: "/h").app("bots"))
        #expect(app.gate?.timeout == 300)
        let none = try #require(try AgentConfig.parse("apps:\n  bots:\n    path: /srv/bots\n", file: "agent.yml",
                                                      home: "/h").app("bots"))
        #expect(none.gate == nil)
    }

    @Test func badGateAndServiceKeysAreRefusedWithTheirKey() {
        #expect(failure("apps:\n  bots:\n    path: /srv/bots\n    gate: ./gate.sh\n")?.description.contains("gate") == true)
        #expect(failure("apps:\n  bots:\n    path: /srv/bots\n    gate_timeout: 5\n")?.description
            .contains("gate_timeout") == true)
        #expect(failure("apps:\n  bots:\n    path: /srv/bots\n    gate: [\"g\"]\n    gate_timeout: 0\n") != nil)
        let twice = """
            apps:
              bots:
                path: /srv/bots
                services:
                  - {name: bot, restart: ["./a"]}
                  - {name: bot, restart: ["./b"]}
            """
        #expect(failure(twice)?.description.contains("two services") == true)
        let shell = "apps:\n  bots:\n    path: /srv/bots\n    services:\n      - {name: bot, restart: [\"./a\"], stop: \"kill it\"}\n"
        #expect(failure(shell) != nil, "stop: is an argv array, not shell text")
    }
}
