import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared

/// The off-VM backup with a real restic and a local repository: what it stores and tags, the retention, and that
/// neither the password nor the env file's values ever reach an argv, an event or the state file.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ResticBackupTests {
    let tmp: TemporaryDirectory
    let password = "pw-" + UUID().uuidString
    let awsSecret = "sk-" + UUID().uuidString

    init() throws {
        tmp = try TemporaryDirectory()
        try tmp.write("app/out/signals.jsonl", "{\"seq\":1}\n")
        try tmp.write("secrets/restic-password", password + "\n")
        try tmp.write("secrets/restic.env", "AWS_SECRET_ACCESS_KEY=\"\(awsSecret)\"\n")
        for file in ["restic-password", "restic.env"] { chmod(tmp.path + "/secrets/" + file, 0o600) }
    }

    private func app(repository: String? = nil, passwordFile: String? = nil) throws -> AppConfig {
        let yaml = """
            apps:
              bots:
                path: \(tmp.path)/app
                data: [out]
                state: \(tmp.path)/state
                snapshots: { keep: 2 }
                backup:
                  restic:
                    repository: \(repository ?? tmp.path + "/repo")
                    password_file: \(passwordFile ?? tmp.path + "/secrets/restic-password")
                    env_file: \(tmp.path)/secrets/restic.env
                    timeout: 60
            """
        return try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
    }

    /// `restic init` of the local repository, as an operator does once.
    private func initRepository() throws {
        let result = try runProcess(["restic", "init"], environment: [
            "RESTIC_REPOSITORY": tmp.path + "/repo", "RESTIC_PASSWORD_FILE": tmp.path + "/secrets/restic-password",
            "RESTIC_CACHE_DIR": tmp.path + "/cache"])
        try #require(result.status == 0, "restic init: \(result.stderr)")
    }

    private func snapshot(_ app: AppConfig, commit: String) throws -> SnapshotInfo {
        let scan = try DataScan.walk(root: app.path, dataDirs: app.data)
        return try SnapshotStore(dir: app.snapshots.dir).create(root: app.path, dataDirs: app.data, scan: scan,
                                                               deploy: "d-test", commit: commit) { _, _ in }.info
    }

    /// Everything a run emitted, as text.
    private func text(_ events: [Event]) -> String {
        events.map { event in
            switch event {
            case .log(let log): log.line
            case .warning(let warning): warning.message
            default: ""
            }
        }.joined(separator: "\n")
    }

    @Test func backsUpTagsForgetsAndKeepsTheSecretsOffEveryCommandLine() throws {
        try initRepository()
        let app = try self.app()
        let config = try #require(app.backup?.restic)
        // Every restic command line while the backups run, read from /proc as `ps` would.
        let seen = CommandLines()
        let watcher = Thread { seen.watch() }
        watcher.start()
        defer { seen.stop() }
        var events: [Event] = []
        var infos: [SnapshotInfo] = []
        for round in 1...3 {
            try tmp.write("app/out/signals.jsonl", (1...round).map { "{\"seq\":\($0)}\n" }.joined())
            let info = try snapshot(app, commit: String(repeating: "\(round)", count: 40))
            infos.append(info)
            OffsiteBackup(app: app, config: config, emit: { events.append($0) }).run(info)
        }
        seen.stop()
        // Each restic command derives its key (scrypt, hundreds of ms): a 2 ms poll sees them.
        #expect(seen.all().contains { $0.hasPrefix("restic backup ") })
        let said = text(events)
        #expect(!events.contains { if case .warning = $0 { true } else { false } }, "\(said)")
        #expect(said.contains("backup "), "\(said)")
        for secret in [password, awsSecret] {
            #expect(!said.contains(secret))
            #expect(!seen.all().contains { $0.contains(secret) })
            let state = try #require(FileSystem.read(OffsiteBackup.statePath(app)))
            #expect(!String(decoding: state, as: UTF8.self).contains(secret))
        }

        let restic = Restic(app: app, config: config)
        let setup = try restic.setup()
        #expect(setup.environment["RESTIC_PASSWORD_FILE"] == config.passwordFile)
        #expect(setup.environment["RESTIC_PASSWORD"] == nil)
        #expect(setup.environment["AWS_SECRET_ACCESS_KEY"] == awsSecret)
        let backups = try restic.list(setup: setup)
        // keep: 2 of the snapshot retention is the repository's too; newest first, tagged with what it copies.
        #expect(backups.map(\.snapshot) == [infos[2].id, infos[1].id])
        #expect(backups.first?.commit == String(repeating: "3", count: 40))
        #expect(backups.first?.bytes == infos[2].bytes)
        for argv in [restic.argv(["backup", "--", infos[2].id]), restic.argv(restic.forgetArguments()),
                     restic.argv(["snapshots", "--json", "--tag", restic.appTag])] {
            #expect(!argv.contains { $0.contains(password) || $0.contains(awsSecret) || $0.contains(tmp.path) })
        }
        let state = try #require(OffsiteBackup.lastState(app))
        #expect(state.ok && state.backup == backups.first.map { String($0.id.prefix(8)) })
        var reasons: [StatusCollector.Reason] = []
        _ = BackupCheck(app: app).judge(snapshots: SnapshotCount(count: 2, newest: Timestamp.now()), reasons: &reasons)
        #expect(reasons.isEmpty, "\(reasons)")
        // Eight days on, the newest backup is older than max_age: a warning that says how old.
        _ = BackupCheck(app: app).judge(snapshots: SnapshotCount(count: 2, newest: Timestamp.now()),
                                        now: Timestamp.now().addingTimeInterval(8 * 86400), reasons: &reasons)
        #expect(reasons.count == 1 && reasons[0].health == .warning && reasons[0].text.contains("8d old"))
    }

    @Test func aWrongPasswordOrAMissingRepositoryIsAWarningAndAStatusReason() throws {
        try initRepository()
        try tmp.write("secrets/wrong", "not-the-password\n")
        chmod(tmp.path + "/secrets/wrong", 0o600)
        for (app, says) in [(try app(passwordFile: tmp.path + "/secrets/wrong"), "wrong password"),
                            (try app(repository: tmp.path + "/nowhere"), "restic init")] {
            let info = try snapshot(app, commit: String(repeating: "a", count: 40))
            var events: [Event] = []
            let started = Timestamp.now()
            OffsiteBackup(app: app, config: try #require(app.backup?.restic), emit: { events.append($0) }).run(info)
            #expect(Timestamp.now().timeIntervalSince(started) < 60)
            let warnings = events.compactMap { if case .warning(let w) = $0 { w } else { nil } }
            #expect(warnings.map(\.code) == ["backup_failed"], "\(text(events))")
            #expect(warnings.first?.message.contains(says) == true, "\(warnings)")
            #expect(!text(events).contains(password) && !text(events).contains(awsSecret))
            var reasons: [StatusCollector.Reason] = []
            let state = BackupCheck(app: app).judge(snapshots: SnapshotCount(count: 1, newest: Timestamp.now()), reasons: &reasons)
            #expect(state?.ok == false)
            #expect(reasons.first?.health == .warning)
            #expect(reasons.first?.text.contains("last off-VM backup failed") == true, "\(reasons)")
        }
    }

    @Test func secretFilesOthersCanReadAreRefusedWithTheFix() throws {
        chmod(tmp.path + "/secrets/restic-password", 0o644)
        let app = try self.app()
        let restic = Restic(app: app, config: try #require(app.backup?.restic))
        #expect {
            try restic.setup()
        } throws: { error in
            "\(error)".contains("chmod 600") && !"\(error)".contains(password)
        }
        #expect(throws: Restic.Failure.self) {
            try Restic(app: try self.app(passwordFile: tmp.path + "/secrets/none"), config: app.backup!.restic).setup()
        }
    }

    @Test func backupIDsAreOperandsOnly() {
        #expect(Restic.isBackupID("latest"))
        #expect(Restic.isBackupID("3f9a1c2e"))
        for bad in ["--password=x", "3f9a1c2", "3F9A1C2E", "../../etc", "", String(repeating: "a", count: 65)] {
            #expect(!Restic.isBackupID(bad))
        }
        #expect(Timestamp(iso8601: "2026-12-01T14:17:56.5Z") == Timestamp(timeIntervalSince1970: 1_796_134_676.5))
        #expect(Restic.urlPassword("rest:https://user:s3cret@host:8000/bots") == "s3cret")
    }
}

/// The command lines of the restic processes running while it watches, read from /proc/PID/cmdline.
private final class CommandLines: @unchecked Sendable {
    // Every access holds `lock`.
    private let lock = NSLock()
    private var lines: [String] = []
    private var running = true

    func watch() {
        while lock.withLock({ running }) {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
                guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty else {
                    continue
                }
                let line = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
                if line.hasPrefix("restic ") { lock.withLock { lines.append(line) } }
            }
            usleep(2000)
        }
    }

    func stop() { lock.withLock { running = false } }
    func all() -> [String] { lock.withLock { lines } }
}
