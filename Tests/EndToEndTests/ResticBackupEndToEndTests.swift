import Foundation
import Testing
import ShipkeepSandbox

/// Off-VM backups with a real restic through a real sshd: a local repository (the backup after a deploy, its
/// listing and tags, `restore --backup` byte for byte), an SFTP repository on a second loopback sshd (restic's
/// own `sftp:` backend, host key verified) from the scheduled `shipkeep-agent snapshot`, and an unreachable
/// repository and a wrong password, each a warning on a deploy that still succeeds and a WARNING in status. The
/// password and the credentials appear in no output, journal or state file.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ResticBackupEndToEndTests {
    /// The restic lines of agent.yml, appended to the sample app's entry.
    private func configure(_ vm: VMSandbox, repository: String, password: String, env: String,
                           options: [String] = []) throws {
        try vm.writeAgentConfig(keep: 3)
        let quoted = options.map { "\"\($0)\"" }.joined(separator: ", ")
        let lines = """
                backup:
                  restic:
                    repository: \(repository)
                    password_file: \(password)
                    env_file: \(env)
                    timeout: 60
                    options: [\(quoted)]

            """
        let text = try String(contentsOfFile: vm.agentConfigPath, encoding: .utf8) + lines
        try text.write(toFile: vm.agentConfigPath, atomically: true, encoding: .utf8)
    }

    /// `restic init`, as an operator does once per repository.
    private func initRepository(_ repository: String, password: String, options: [String] = [], cache: String)
        throws {
        let result = try runProcess(["restic", "init"] + options.flatMap { ["-o", $0] }, environment: [
            "RESTIC_REPOSITORY": repository, "RESTIC_PASSWORD_FILE": password, "RESTIC_CACHE_DIR": cache])
        try #require(result.status == 0, "restic init \(repository): \(result.stderr)")
    }

    /// Every byte the run left on the VM and printed, to look for secrets in.
    private func everything(_ vm: VMSandbox, _ outputs: [ProcessResult]) throws -> String {
        var text = outputs.map { $0.stdout + $0.stderr }.joined(separator: "\n") + vm.server.log()
        let files = FileManager.default.enumerator(atPath: vm.stateDir)
        while let name = files?.nextObject() as? String {
            guard !name.hasPrefix("restic-cache"), !name.hasPrefix("snapshots") else { continue }
            if let data = FileManager.default.contents(atPath: vm.stateDir + "/" + name) {
                text += String(decoding: data, as: UTF8.self)
            }
        }
        return text
    }

    private func warnings(_ output: ProcessResult) -> [[String: Any]] {
        events(output.stdout, "warning").filter { ($0["code"] as? String)?.hasPrefix("backup") == true }
    }

    @Test("restic: backup after each snapshot, listed, restored byte for byte; sftp; failures are warnings")
    func backupsAndRestoresAndWarns() throws {
        try withSandbox(bot: true) { vm in
            let secrets = vm.root + "/vm/secrets"
            try FileManager.default.createDirectory(atPath: secrets, withIntermediateDirectories: true)
            let password = "restic-pw-" + UUID().uuidString
            let credential = "aws-secret-" + UUID().uuidString
            try (password + "\n").write(toFile: secrets + "/password", atomically: true, encoding: .utf8)
            try "not-the-password\n".write(toFile: secrets + "/wrong", atomically: true, encoding: .utf8)
            try "AWS_SECRET_ACCESS_KEY=\"\(credential)\"\n".write(toFile: secrets + "/env", atomically: true,
                                                                 encoding: .utf8)
            for file in ["password", "wrong", "env"] { chmod(secrets + "/" + file, 0o600) }
            let cache = vm.root + "/test-cache"
            let local = vm.root + "/repo"
            try initRepository(local, password: secrets + "/password", cache: cache)
            var outputs: [ProcessResult] = []

            // 1. A local repository: the deploy's snapshot is backed up, listed with its tags, and restorable.
            let archive = (0..<2000).map { "{\"seq\":\($0),\"note\":\"\(UUID().uuidString)\"}\n" }.joined()
            try archive.write(toFile: vm.appPath + "/logs/archive.jsonl", atomically: true, encoding: .utf8)
            try configure(vm, repository: local, password: secrets + "/password", env: secrets + "/env")
            let v2 = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deploy = try shipkeep(["deploy", "--json", "--commit", v2] + vm.controllerArguments)
            outputs.append(deploy)
            #expect(deploy.status == 0, "\(deploy.stderr)\n\(deploy.stdout.suffix(3000))")
            #expect(warnings(deploy).isEmpty, "\(warnings(deploy))")
            let backupLines = events(deploy.stdout, "log").filter { $0["source"] as? String == "backup" }
                .compactMap { $0["line"] as? String }
            #expect(backupLines.contains { $0.contains("stored") }, "\(backupLines)")
            let summary = try #require(jsonLines(deploy.stdout).last?["deploy"] as? [String: Any])
            let taken = try #require(summary["snapshot"] as? [String: Any])
            let snapshot = try #require(taken["id"] as? String)

            let listed = try shipkeep(["backups", "--json"] + vm.controllerArguments)
            outputs.append(listed)
            #expect(listed.status == 0, "\(listed.stderr)")
            let backups = try #require(events(listed.stdout, "backups").first?["backups"] as? [[String: Any]])
            #expect(backups.count == 1)
            let backup = try #require(backups.first)
            #expect(backup["snapshot"] as? String == snapshot)
            // The snapshot is taken before the update, at the commit live then: its tag says which.
            #expect(backup["commit"] as? String == taken["commit"] as? String)
            #expect(backup["commit"] as? String != nil)
            let id = try #require(backup["id"] as? String)
            let human = try shipkeep(["backups"] + vm.controllerArguments)
            outputs.append(human)
            let rows = human.stdout.split(separator: "\n")
            #expect(rows.first?.hasPrefix("BACKUP") == true, "\(human.stdout)")
            #expect(rows.dropFirst().first?.hasPrefix(String(id.prefix(8))) == true)
            #expect(rows.dropFirst().first?.contains(snapshot) == true)

            try FileManager.default.removeItem(atPath: vm.appPath + "/logs/archive.jsonl")
            let restore = try shipkeep(["restore", "--backup", String(id.prefix(8)), "--path", "logs"]
                + vm.controllerArguments)
            outputs.append(restore)
            #expect(restore.status == 0, "\(restore.stderr)\n\(restore.stdout)")
            #expect(try String(contentsOfFile: vm.appPath + "/logs/archive.jsonl", encoding: .utf8) == archive)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: vm.stateDir)
                .filter { $0.hasPrefix("restic-restore-") }
            #expect(leftovers.isEmpty, "the temporary restore dir is removed")
            let status = try shipkeep(["status"] + vm.controllerArguments)
            outputs.append(status)
            #expect(status.stdout.contains("offsite restic: newest backup"), "\(status.stdout)")
            let metrics = try shipkeep(["status", "--format", "prometheus"] + vm.controllerArguments)
            outputs.append(metrics)
            #expect(metrics.stdout.contains("shipkeep_backup_last_success{app=\"bots\""), "\(metrics.stdout)")
            #expect(metrics.stdout.contains("shipkeep_backup_newest_age_seconds{app=\"bots\""))

            // 2. An SFTP repository on a second sshd, its host key checked against a known_hosts file, from the
            // timer's `shipkeep-agent snapshot`.
            let store = try SSHServer(directory: vm.root + "/sftp-sshd", forcedCommand: nil)
            defer { store.stop() }
            try store.start()
            let ssh = "sftp.command=ssh -F /dev/null -i \(store.userKeyPath) -p \(store.port) -o BatchMode=yes "
                + "-o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=\(store.knownHostsPath) "
                + "\(store.user)@127.0.0.1 -s sftp"
            let sftp = "sftp:\(store.user)@127.0.0.1:\(vm.root)/sftp-repo"
            try initRepository(sftp, password: secrets + "/password", options: [ssh], cache: cache)
            try configure(vm, repository: sftp, password: secrets + "/password", env: secrets + "/env",
                          options: [ssh])
            let timer = try runProcess([try BuildProducts.path("shipkeep-agent"), "snapshot", "--json", "--config",
                                        vm.agentConfigPath, "--app", vm.appName])
            outputs.append(timer)
            #expect(timer.status == 0, "\(timer.stderr)\n\(timer.stdout.suffix(2000))")
            #expect(warnings(timer).isEmpty, "\(warnings(timer))")
            let scheduled = try #require((jsonLines(timer.stdout).last?["deploy"] as? [String: Any])?["snapshot"]
                as? [String: Any])?["id"] as? String
            let overSFTP = try shipkeep(["backups", "--json"] + vm.controllerArguments)
            outputs.append(overSFTP)
            let sftpBackups = events(overSFTP.stdout, "backups").first?["backups"] as? [[String: Any]] ?? []
            #expect(sftpBackups.map { $0["snapshot"] as? String } == [scheduled], "\(overSFTP.stdout)")
            #expect(store.log().contains("Accepted publickey"), "restic logged in to the sftp sshd")

            // 3. An unreachable repository, then a wrong password: warnings, the deploy succeeds, status WARNING.
            // Port 1 of loopback: nothing listens there, the connection is refused at once.
            let unreachable = ssh.replacingOccurrences(of: "-p \(store.port)", with: "-p 1")
            try configure(vm, repository: sftp, password: secrets + "/password", env: secrets + "/env",
                          options: [unreachable])
            for (round, file, says) in [(3, "password", "sftp"), (4, "wrong", "wrong password")] {
                if file == "wrong" {
                    try configure(vm, repository: local, password: secrets + "/wrong", env: secrets + "/env")
                }
                let commit = try vm.commit(["bot.sh": SampleApp.bot(version: "v\(round)")], message: "v\(round)")
                let started = Date()
                let failing = try shipkeep(["deploy", "--json", "--commit", commit] + vm.controllerArguments)
                outputs.append(failing)
                #expect(failing.status == 0, "\(failing.stderr)\n\(failing.stdout.suffix(3000))")
                #expect(Date().timeIntervalSince(started) < 120)
                let warned = warnings(failing)
                #expect(warned.map { $0["code"] as? String } == ["backup_failed"], "\(failing.stdout.suffix(3000))")
                #expect((warned.first?["message"] as? String)?.contains(says) == true, "\(warned)")
                let probe = try shipkeep(["status"] + vm.controllerArguments)
                outputs.append(probe)
                #expect(probe.status == 1, "WARNING: \(probe.stdout)")
                #expect(probe.stdout.contains("! last off-VM backup failed"), "\(probe.stdout)")
                #expect(probe.stdout.contains("FAILED"), "\(probe.stdout)")
            }

            let seen = try everything(vm, outputs)
            #expect(!seen.contains(password), "the restic password appeared in an output, a journal or the state")
            #expect(!seen.contains(credential), "the env file's credential appeared in an output or a journal")
        }
    }
}
