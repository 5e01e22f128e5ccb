import Testing
@testable import Shared

@Suite struct ProjectConfigTests {
    @Test func targetsAndGroupsParse() throws {
        let config = try ProjectConfig.parse("""
            targets:
              prod:
                host: vm.example.com
                user: deploy
                app: bots
                known_hosts: ci/known_hosts
                fingerprint: SHA256:abc
                jump: ops@bastion.example:2222
                jump_fingerprint: SHA256:def
              staging: { host: 10.0.0.7, port: 2222, app: bots }
            groups:
              all: [prod, staging]
            """, file: "/repo/shipkeep.yml")
        #expect(config.target("prod")?.knownHosts == "/repo/ci/known_hosts")
        #expect(config.target("prod")?.jump == "ops@bastion.example:2222")
        #expect(config.target("prod")?.jumpFingerprint == "SHA256:def")
        #expect(config.target("staging")?.port == 2222)
        #expect(config.groups["all"] == ["prod", "staging"])
    }

    @Test func mistakesNameTheKeyFileAndLine() {
        func error(_ text: String) -> String? {
            do { _ = try ProjectConfig.parse(text, file: "shipkeep.yml"); return nil } catch { return error.description }
        }
        #expect(error("targets:\n  prod:\n    hots: vm\n")
            == "shipkeep.yml:3: targets.prod.hots: unknown key (expected one of: host, port, user, app, identity, "
                + "known_hosts, fingerprint, jump, jump_fingerprint, ship)")
        #expect(error("targets:\n  prod:\n    port: 70000\n")?.hasPrefix("shipkeep.yml:3: targets.prod.port") == true)
        #expect(error("targets:\n  prod:\n    fingerprint: abc\n")?.contains("targets.prod.fingerprint") == true)
        #expect(error("targets:\n  prod:\n    jump_fingerprint: abc\n")?.contains("targets.prod.jump_fingerprint") == true)
        #expect(error("targets:\n  prod: {host: a}\ngroups:\n  all: [prod, nope]\n")?.contains("\"nope\" is not a target") == true)
        #expect(error("targets:\n  prod:\n    ship: yes\n")
            == "shipkeep.yml:3: targets.prod.ship: expected true or false")
        #expect(error("target:\n  prod: {}\n")?.hasPrefix("shipkeep.yml:1: target: unknown key") == true)
    }
}
