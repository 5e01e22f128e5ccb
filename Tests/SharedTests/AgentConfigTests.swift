import Testing
@testable import Shared

@Suite struct AgentConfigTests {
    static let full = """
        apps:
          bots:
            path: /srv/bots                      # the git work tree
            remote: origin
            branch: main
            data: [paper_trading_outputs, logs]  # never touched by the update; snapshotted first
            state: /var/lib/shipkeep/bots
            snapshots: { dir: /var/lib/shipkeep/bots/snapshots, keep: 5 }
            hooks: { after_update: [["pip", "install", "-r", "requirements.txt"]] }
            services:
              - name: bot
                restart: ["./restart.sh"]
                check: ["./check.sh"]
              - systemd: paper-bot.service
            health:
              command: ["./healthcheck.sh"]
              timeout: 30
              fresh: { path: paper_trading_outputs, within: 10 }
        """

    private func failure(_ yaml: String) -> ConfigError? {
        do {
            _ = try AgentConfig.parse(yaml, file: "agent.yml", home: "/home/deploy")
            return nil
        } catch {
            return error
        }
    }

    @Test func theDesignExampleParsesWithEveryKey() throws {
        let config = try AgentConfig.parse(Self.full, file: "agent.yml", home: "/home/deploy")
        let app = try #require(config.app("bots"))
        #expect(app.path == "/srv/bots")
        #expect(app.data == ["paper_trading_outputs", "logs"])
        #expect(app.dataPaths == ["/srv/bots/paper_trading_outputs", "/srv/bots/logs"])
        #expect(app.snapshots == SnapshotConfig(dir: "/var/lib/shipkeep/bots/snapshots", keep: 5))
        #expect(app.hooks.afterUpdate == [["pip", "install", "-r", "requirements.txt"]])
        #expect(app.services == [
            .command(name: "bot", restart: ["./restart.sh"], check: ["./check.sh"], timeout: 60),
            .systemd(unit: "paper-bot.service", timeout: 60),
        ])
        #expect(app.health == HealthConfig(command: ["./healthcheck.sh"], timeout: 30,
                                           fresh: FreshnessCheck(path: "paper_trading_outputs", within: 10)))
    }

    @Test func healthSettleIsOptionalAndShorterThanTheTimeout() throws {
        let base = "apps:\n  web:\n    path: /srv/web\n    health:\n      timeout: 10\n"
        let config = try AgentConfig.parse(base + "      settle: 3\n", file: "agent.yml", home: "/home/deploy")
        #expect(config.app("web")?.health.settle == 3)
        #expect(try AgentConfig.parse(base, file: "agent.yml", home: "/home/deploy").app("web")?.health.settle == 0)
        let tooLong = failure(base + "      settle: 10\n")
        #expect(tooLong?.line == 6)
        #expect(tooLong?.description.contains("settle") == true, "\(String(describing: tooLong))")
        #expect(failure(base + "      settle: -1\n")?.line == 6)
        #expect(failure(base + "      settle: soon\n")?.line == 6)
    }

    @Test func theLockWaitIsCappedAndTheLocaleIsAPlainName() throws {
        let base = "apps:\n  web:\n    path: /srv/web\n"
        let defaults = try #require(try AgentConfig.parse(base, file: "agent.yml", home: "/home/deploy").app("web"))
        #expect(defaults.lock.maxWait == 1800)
        #expect(defaults.locale == "C.UTF-8")
        let set = try AgentConfig.parse(base + "    lock: { max_wait: 600 }\n    locale: en_US.UTF-8\n",
                                        file: "agent.yml", home: "/home/deploy")
        #expect(set.app("web")?.lock.maxWait == 600)
        #expect(set.app("web")?.locale == "en_US.UTF-8")
        #expect(failure(base + "    lock: { max_wait: 0 }\n")?.line == 4)
        #expect(failure(base + "    lock: { wait: 10 }\n")?.description.contains("expected one of: max_wait") == true)
        for hostile in ["\"C.UTF-8; rm -rf /\"", "\"en US\"", "\"\\e[2J\""] {
            #expect(failure(base + "    locale: \(hostile)\n")?.line == 4, "\(hostile)")
        }
    }

    @Test func aSystemdServiceNamesItsScopeAndAPlainUnitIsASystemUnit() throws {
        let base = "apps:\n  bots:\n    path: /srv/bots\n    services:\n"
        let config = try AgentConfig.parse(base + """
                  - systemd: bot.service
                  - systemd: {unit: user-bot.service, scope: user}
                  - systemd: {unit: other.service, scope: system}
                    timeout: 9

            """, file: "agent.yml", home: "/home/deploy")
        #expect(config.app("bots")?.services == [
            .systemd(unit: "bot.service", scope: .system, timeout: 60),
            .systemd(unit: "user-bot.service", scope: .user, timeout: 60),
            .systemd(unit: "other.service", scope: .system, timeout: 9),
        ])
        let badScope = failure(base + "      - systemd: {unit: bot.service, scope: session}\n")
        #expect(badScope?.key == "apps.bots.services.0.systemd.scope")
        #expect(badScope?.message.contains("user, system") == true, "\(String(describing: badScope))")
        #expect(failure(base + "      - systemd: {scope: user}\n")?.key == "apps.bots.services.0.systemd")
        #expect(failure(base + "      - systemd: {unit: a.service, typo: 1}\n")?.key == "apps.bots.services.0.systemd.typo")
        // sudo matches the sudoers rule word for word: no options, no second word.
        #expect(failure(base + "      - systemd: \"-H host\"\n") != nil)
        #expect(failure(base + "      - systemd: \"a.service b.service\"\n") != nil)
    }

    @Test func theSudoersRuleAllowsExactlyTheRestartAndTheCheck() {
        #expect(SudoersRule.line(user: "deploy", units: ["bot.service"])
            == "deploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart bot.service, /usr/bin/systemctl is-active bot.service, "
                + "/usr/bin/systemctl reset-failed bot.service, /usr/bin/systemctl stop bot.service, "
                + "/usr/bin/systemctl start bot.service")
    }

    @Test func defaultsApplyAndStateLivesUnderHomeNotTmp() throws {
        let config = try AgentConfig.parse("apps:\n  web:\n    path: /srv/web/\n", file: "agent.yml", home: "/home/deploy")
        let app = try #require(config.app("web"))
        #expect(app.path == "/srv/web")
        #expect(app.remote == "origin")
        #expect(app.branch == "main")
        #expect(app.state == "/home/deploy/.local/state/shipkeep/web")
        #expect(app.snapshots.dir == "/home/deploy/.local/state/shipkeep/web/snapshots")
        #expect(app.snapshots.keep == 5)
    }

    @Test func anUnknownKeyIsNamedWithItsLine() {
        let error = failure("apps:\n  bots:\n    path: /srv/bots\n    snapshots: { dir: /x, kep: 3 }\n")
        #expect(error?.description == "agent.yml:4: apps.bots.snapshots.kep: unknown key (expected one of: dir, "
            + "keep, hourly, daily, weekly, keep_failed)")
    }

    @Test func retentionByPolicyHasItsKeysAndKeepAloneKeepsItsMeaning() throws {
        let yaml = "apps:\n  b:\n    path: /srv/b\n    snapshots: { keep: 3, hourly: 24, daily: 14, weekly: 8, "
            + "keep_failed: 2 }\n  c:\n    path: /srv/c\n    snapshots: { keep: 4 }\n"
        let config = try AgentConfig.parse(yaml, file: "agent.yml", home: "/home/deploy")
        let policy = try #require(config.app("b")).snapshots
        #expect([policy.keep, policy.hourly, policy.daily, policy.weekly, policy.keepFailed] == [3, 24, 14, 8, 2])
        let plain = try #require(config.app("c")).snapshots
        #expect([plain.keep, plain.hourly, plain.daily, plain.weekly, plain.keepFailed] == [4, 0, 0, 0, 4])
        #expect(failure("apps:\n  b:\n    path: /srv/b\n    snapshots: { hourly: -1 }\n")?.key
            == "apps.b.snapshots.hourly")
    }

    @Test func aMissingKeyIsNamed() {
        let error = failure("apps:\n  bots:\n    data: [out]\n")
        #expect(error?.key == "apps.bots")
        #expect(error?.message.contains("\"path\"") == true)
        #expect(error?.line == 3)
        #expect(failure("")?.message.contains("empty") == true)
        #expect(failure("version: 1\n")?.key == "version")
    }

    @Test func commandsMustBeArgvArraysNotShellStrings() {
        let error = failure("apps:\n  bots:\n    path: /srv/bots\n    services:\n      - restart: ./restart.sh && rm -rf /\n")
        #expect(error?.key == "apps.bots.services.0.restart")
        #expect(error?.line == 5)
        #expect(error?.message.contains("no shell") == true)
    }

    @Test(arguments: ["../etc", "/var/data", "a/../../b", ".", ""])
    func dataDirsMustStayInsideTheWorkTree(dir: String) {
        let error = failure("apps:\n  bots:\n    path: /srv/bots\n    data: [\"\(dir)\"]\n")
        #expect(error?.key == "apps.bots.data")
    }

    @Test func overlappingDataDirsAndStateInsideDataAreRefused() {
        #expect(failure("apps:\n  b:\n    path: /srv/b\n    data: [out, out/x]\n")?.message.contains("overlap") == true)
        #expect(failure("apps:\n  b:\n    path: /srv/b\n    data: [out]\n    state: out/state\n")?.key == "apps.b.state")
    }

    @Test func wrongTypesAndValuesAreRefused() {
        #expect(failure("apps:\n  b:\n    path: relative/path\n")?.key == "apps.b.path")
        #expect(failure("apps:\n  b:\n    path: /srv/b\n    snapshots: { keep: 0 }\n")?.key == "apps.b.snapshots.keep")
        #expect(failure("apps:\n  b:\n    path: /srv/b\n    branch: --upload-pack=evil\n")?.key == "apps.b.branch")
        #expect(failure("apps:\n  \"bad name;\":\n    path: /srv/b\n")?.key == "apps.bad name;")
        #expect(failure("apps: [1, 2]\n")?.key == "apps")
        #expect(failure("apps:\n  b:\n    path: /srv/b\n    services:\n      - name: x\n")?.key == "apps.b.services.0")
    }

    @Test func allowRefsAndRequireSignedAreOptionalAndKept() throws {
        let yaml = "apps:\n  b:\n    path: /srv/b\n"
            + "    allow_refs: [refs/tags/v*, refs/heads/release/*, refs/heads/stable]\n"
            + "    require_signed: /etc/shipkeep//allowed_signers\n"
        let app = try #require(try AgentConfig.parse(yaml, file: "agent.yml", home: "/home/deploy").app("b"))
        #expect(app.allowRefs == ["refs/tags/v*", "refs/heads/release/*", "refs/heads/stable"])
        #expect(app.requireSigned == "/etc/shipkeep/allowed_signers")
        let plain = try #require(try AgentConfig.parse(Self.full, file: "agent.yml", home: "/home/deploy").app("bots"))
        #expect(plain.allowRefs.isEmpty && plain.requireSigned == nil)
    }

    @Test(arguments: ["refs/pull/*", "refs/changes/*", "refs/*", "HEAD", "v*", "refs/heads/", "refs/tags/a*b*",
                      "refs/heads/a b", "refs/heads/../x", "refs/tags/v[0-9]"])
    func allowRefsTakeOnlyBranchAndTagPatterns(pattern: String) {
        let error = failure("apps:\n  b:\n    path: /srv/b\n    allow_refs: [\"\(pattern)\"]\n")
        #expect(error?.key == "apps.b.allow_refs", "\(String(describing: error))")
        #expect(error?.line == 4)
        #expect(error?.description.hasPrefix("agent.yml:4: apps.b.allow_refs: ") == true)
    }

    @Test func shippingIsOffUnlessAllowedAndItsSizeIsCapped() throws {
        let plain = try #require(try AgentConfig.parse(Self.full, file: "agent.yml", home: "/home/deploy").app("bots"))
        #expect(plain.ship == ShipConfig(allowed: false, maxBytes: 512 << 20))
        let yaml = "apps:\n  b:\n    path: /srv/b\n    ship: true\n    ship_max_bytes: 1048576\n"
        let app = try #require(try AgentConfig.parse(yaml, file: "agent.yml", home: "/home/deploy").app("b"))
        #expect(app.ship == ShipConfig(allowed: true, maxBytes: 1 << 20))
        let word = failure("apps:\n  b:\n    path: /srv/b\n    ship: yes\n")
        #expect(word?.key == "apps.b.ship" && word?.line == 4, "\(String(describing: word))")
        let size = failure("apps:\n  b:\n    path: /srv/b\n    ship_max_bytes: 0\n")
        #expect(size?.key == "apps.b.ship_max_bytes", "\(String(describing: size))")
    }

    @Test func requireSignedIsAnAbsolutePath() {
        let error = failure("apps:\n  b:\n    path: /srv/b\n    require_signed: allowed_signers\n")
        #expect(error?.key == "apps.b.require_signed")
        #expect(error?.line == 4)
        #expect(error?.message.contains("allowed_signers") == true)
    }

    @Test func invalidYAMLReportsItsLine() {
        let error = failure("apps:\n  bots:\n    path: [unclosed\n")
        #expect(error?.line != nil)
        #expect(error?.message.hasPrefix("not valid YAML") == true)
    }

    @Test func duplicateKeysAreRefused() {
        let error = failure("apps:\n  b:\n    path: /srv/b\n    path: /srv/c\n")
        #expect(error?.message.contains("\"path\" appears twice") == true, "\(String(describing: error))")
        #expect(error?.line == 3)
        #expect(error?.description.contains("\n") == false, "one line")
    }
}

/// agent.yml's `kinds:` and the rule that decides each data file's kind.
@Suite struct DataKindRulesTests {
    @Test func namesDecideWhenNoGlobDoes() {
        let rules = DataKindRules()
        for path in ["out/signals.jsonl", "logs/bot.log", "logs/bot.log.3", "logs/bot.log.2.gz", "logs/bot.log-20261201",
                     "a/b.ndjson"] {
            #expect(rules.kind(of: path, isSQLite: false) == .append, "\(path)")
        }
        for path in ["out/state.json", "out/trades.csv", "out/model.pkl", "logs/catalog", "out/x.logger"] {
            #expect(rules.kind(of: path, isSQLite: false) == .mutable, "\(path)")
        }
        #expect(rules.kind(of: "out/signals.jsonl", isSQLite: true) == .sqlite)
    }

    @Test func globsOverrideNamesButNeverADatabaseHeader() throws {
        let yaml = """
            apps:
              bots:
                path: /srv/bots
                data: [out]
                kinds:
                  append: ["out/trades_*.csv", "**/ledger.txt"]
                  mutable: ["snapshot.jsonl"]
            """
        let rules = try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots")).kinds
        #expect(rules.kind(of: "out/trades_2026.csv", isSQLite: false) == .append)
        #expect(rules.kind(of: "out/sub/trades_2026.csv", isSQLite: false) == .mutable, "* stays in one component")
        #expect(rules.kind(of: "out/a/b/ledger.txt", isSQLite: false) == .append)
        #expect(rules.kind(of: "out/deep/snapshot.jsonl", isSQLite: false) == .mutable, "a name glob matches anywhere")
        #expect(rules.kind(of: "out/trades_2026.csv", isSQLite: true) == .sqlite)
    }

    @Test func badKindsAreRefusedWithTheirLine() throws {
        for (kinds, message) in [("append: [\"../x\"]", "relative"), ("appendonly: [x]", "appendonly"),
                                 ("append: {a: b}", "list")] {
            let yaml = "apps:\n  bots:\n    path: /srv/bots\n    data: [out]\n    kinds:\n      \(kinds)\n"
            #expect {
                try AgentConfig.parse(yaml, file: "agent.yml")
            } throws: { error in
                "\(error)".contains("agent.yml:6") && "\(error)".contains(message)
            }
        }
    }
}

@Suite struct AgentConfigSecretsTests {
    private func parse(_ extra: String) throws(ConfigError) -> AppConfig? {
        try AgentConfig.parse("apps:\n  bots:\n    path: /srv/bots\n    state: /var/lib/shipkeep/bots\n" + extra,
                              file: "agent.yml").app("bots")
    }

    @Test func theEnvFileDefaultsToTheStateDirAndMustLieOutsideTheWorkTree() throws {
        #expect(try parse("")?.secretsFile == "/var/lib/shipkeep/bots/env")
        #expect(try parse("    env_file: /etc/shipkeep/bots.env\n")?.secretsFile == "/etc/shipkeep/bots.env")
        #expect(try parse("    env_keys: [EXCHANGE_*, TOKEN]\n")?.envKeys == ["EXCHANGE_*", "TOKEN"])
        for (bad, says) in [("    env_file: /srv/bots/.env\n", "inside the work tree"),
                            ("    env_file: .env\n", "absolute path"),
                            ("    env_keys: [\"A-B\"]\n", "not a variable name")] {
            #expect { try parse(bad) } throws: { "\($0)".contains(says) }
        }
    }
}
