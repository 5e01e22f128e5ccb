import Testing
@testable import Shared

/// `backup: {restic: …}` in agent.yml: what it accepts and how it says what it refuses (file:line: key).
@Suite struct BackupConfigTests {
    private static let base = "apps:\n  bots:\n    path: /srv/bots\n    state: /var/lib/shipkeep/bots\n"
        + "    snapshots: { keep: 4, daily: 7 }\n"

    private func parse(_ restic: String) throws -> AppConfig? {
        try AgentConfig.parse(Self.base + "    backup:\n      restic:\n" + restic, file: "agent.yml").app("bots")
    }

    @Test func theKeysAndTheirDefaults() throws {
        let app = try #require(try parse("""
                    repository: sftp:backup@store:/srv/restic/bots
                    password_file: /etc/shipkeep/bots.restic-password
                    env_file: /etc/shipkeep//bots.restic-env
                    options: ["sftp.command=ssh backup@store -s sftp"]

            """))
        let restic = try #require(app.backup?.restic)
        #expect(restic.repository == "sftp:backup@store:/srv/restic/bots")
        #expect(restic.passwordFile == "/etc/shipkeep/bots.restic-password")
        #expect(restic.envFile == "/etc/shipkeep/bots.restic-env")
        #expect(restic.options == ["sftp.command=ssh backup@store -s sftp"])
        #expect(restic.timeout == ResticConfig.defaultTimeout && restic.maxAge == ResticConfig.defaultMaxAge)
        #expect(try AgentConfig.parse(Self.base, file: "agent.yml").app("bots")?.backup == nil)
        let local = try parse("        repository: /mnt/backup/bots\n        password_file: /etc/pw\n"
            + "        timeout: 120\n        max_age: 7200\n")?.backup?.restic
        #expect(local?.timeout == 120 && local?.maxAge == 7200)
    }

    @Test func refusalsNameTheLineAndTheKey() throws {
        let good = "        password_file: /etc/pw\n"
        for (restic, line, key, says) in [
            ("        password_file: /etc/pw\n", 8, "apps.bots.backup.restic", "missing required key \"repository\""),
            ("        repository: /mnt/b\n", 8, "apps.bots.backup.restic", "password_file"),
            ("        repository: backups/bots\n" + good, 8, "apps.bots.backup.restic.repository", "absolute path"),
            ("        repository: /srv/bots/backup\n" + good, 8, "apps.bots.backup.restic.repository", "work tree"),
            ("        repository: /var/lib/shipkeep/bots/snapshots\n" + good, 8,
             "apps.bots.backup.restic.repository", "snapshot dir"),
            ("        repository: --repo=x\n" + good, 8, "apps.bots.backup.restic.repository", "not starting"),
            ("        repository: /mnt/b\n        password_file: pw\n", 9, "apps.bots.backup.restic.password_file",
             "absolute path"),
            ("        repository: /mnt/b\n        password_file: /srv/bots/pw\n", 9,
             "apps.bots.backup.restic.password_file", "inside the work tree"),
            ("        repository: /mnt/b\n" + good + "        env_file: /srv/bots/.env\n", 10,
             "apps.bots.backup.restic.env_file", "inside the work tree"),
            ("        repository: /mnt/b\n" + good + "        options: [\"--insecure\"]\n", 10,
             "apps.bots.backup.restic.options", "KEY=VALUE"),
            ("        repository: /mnt/b\n" + good + "        timeout: 0\n", 10, "apps.bots.backup.restic.timeout",
             "greater than 0"),
            ("        repository: /mnt/b\n" + good + "        keep: 3\n", 10, "apps.bots.backup.restic.keep",
             "unknown key"),
        ] {
            #expect {
                try parse(restic)
            } throws: { error in
                guard let error = error as? ConfigError else { return false }
                return error.line == line && error.key == key && error.message.contains(says)
                    && error.description.hasPrefix("agent.yml:\(line): \(key): ")
            }
        }
    }
}
