import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep install`: the agent and agent.yml over SFTP, and an authorized_keys line that works as printed.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct InstallTests {
    private func attributes(_ path: String) throws -> (mode: Int, inode: Int) {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return ((attributes[.posixPermissions] as? Int) ?? -1, (attributes[.systemFileNumber] as? Int) ?? -1)
    }

    @Test func installsTheAgentWritesAgentYmlOnceAndPrintsAWorkingForcedCommandLine() throws {
        try withSandbox(forcedCommand: false, bot: true) { vm in
            let agent = try BuildProducts.path("shipkeep-agent")
            let remoteAgent = vm.root + "/vm-home/.local/bin/shipkeep-agent"
            let remoteConfig = vm.root + "/vm-home/.config/shipkeep/agent.yml"
            let localConfig = vm.root + "/agent.yml"
            try FileManager.default.copyItem(atPath: vm.agentConfigPath, toPath: localConfig)
            let deployKey = vm.root + "/ci_deploy"
            #expect(try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", deployKey]).status == 0)
            let arguments = ["install", "--agent-binary", agent, "--agent-yml", localConfig, "--remote-path", remoteAgent,
                             "--remote-config", remoteConfig, "--deploy-key", deployKey + ".pub"] + vm.controllerArguments

            let first = try shipkeep(arguments)
            #expect(first.status == 0, "\(first.stderr)\n\(first.stdout)")
            #expect(FileManager.default.contentsEqual(atPath: agent, andPath: remoteAgent))
            #expect(try attributes(remoteAgent).mode == 0o755)
            #expect(try String(contentsOfFile: remoteConfig, encoding: .utf8)
                    == String(contentsOfFile: localConfig, encoding: .utf8))
            #expect(try attributes(remoteConfig).mode == 0o600)
            #expect(first.stdout.contains("agent.yml written at \(remoteConfig); apps: bots"), "\(first.stdout)")
            let line = try #require(first.stdout.split(separator: "\n").last.map(String.init))
            let publicKey = try String(contentsOfFile: deployKey + ".pub", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(line == "restrict,command=\"'\(remoteAgent)' 'serve' '--config' '\(remoteConfig)'\" \(publicKey)")

            // The line as printed: the deploy key now reaches the installed agent, and only it.
            try vm.server.appendAuthorizedKeysLine(line)
            var deployArguments = vm.controllerArguments
            deployArguments[deployArguments.firstIndex(of: vm.server.userKeyPath)!] = deployKey
            let status = try shipkeep(["status", "--json"] + deployArguments)
            #expect(status.status == 0, "\(status.stderr)")
            let shell = try runProcess(["ssh", "-i", deployKey, "-p", String(vm.server.port), "-o", "BatchMode=yes",
                                        "-o", "UserKnownHostsFile=\(vm.server.knownHostsPath)", "-o", "IdentitiesOnly=yes",
                                        "\(vm.server.user)@\(vm.server.listenAddress)", "echo", "a-shell"],
                                       environment: ["SSH_AUTH_SOCK": ""], stdin: "")
            #expect(!shell.stdout.contains("a-shell"), "the deploy key ran a shell command: \(shell.stdout)")

            // Again, with another local agent.yml: the program is replaced (a new inode, atomically), the
            // VM's agent.yml is kept as it is.
            let inode = try attributes(remoteAgent).inode
            try ("# another agent.yml\n" + String(contentsOfFile: localConfig, encoding: .utf8))
                .write(toFile: localConfig, atomically: true, encoding: .utf8)
            let second = try shipkeep(arguments + ["--json"])
            #expect(second.status == 0, "\(second.stderr)")
            #expect(try attributes(remoteAgent).inode != inode)
            #expect(try String(contentsOfFile: remoteConfig, encoding: .utf8)
                    == String(contentsOfFile: vm.agentConfigPath, encoding: .utf8))
            let result = try #require(jsonLines(second.stdout).last)
            let install = try #require(result["install"] as? [String: Any])
            #expect(result["ok"] as? Bool == true && install["config"] as? String == "kept")
            #expect(install["authorizedKeysLine"] as? String == line)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: vm.root + "/vm-home/.local/bin")
            #expect(leftovers == ["shipkeep-agent"], "temporary files left: \(leftovers)")
        }
    }

    @Test func theDeployKeyLineIsAddedOnceKeepingTheOtherLines() throws {
        // The bot runs: status judges the app by its checks, and here it must say OK.
        try withSandbox(forcedCommand: false, bot: true) { vm in
            let keys = vm.server.directory + "/authorized_keys"
            let before = try String(contentsOfFile: keys, encoding: .utf8)
            #expect(before.contains(vm.server.userPublicKeyLine))
            let deployKey = vm.root + "/ci_deploy"
            #expect(try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", deployKey]).status == 0)
            let remoteAgent = vm.root + "/vm-home/bin/shipkeep-agent"
            let arguments = ["install", "--agent-binary", try BuildProducts.path("shipkeep-agent"), "--agent-yml",
                             vm.agentConfigPath, "--remote-path", remoteAgent, "--remote-config", vm.agentConfigPath,
                             "--deploy-key", deployKey + ".pub", "--authorized-keys", keys] + vm.controllerArguments

            let first = try shipkeep(arguments)
            #expect(first.status == 0, "\(first.stderr)\n\(first.stdout)")
            let line = try #require(first.stdout.split(separator: "\n").last.map(String.init))
            #expect(first.stdout.contains("the deploy key's line is added to \(keys)"), "\(first.stdout)")
            let after = try String(contentsOfFile: keys, encoding: .utf8)
            #expect(after == before + line + "\n", "the other lines changed:\n\(after)")
            #expect(try attributes(keys).mode == 0o600)

            // Again: the line is already there, nothing is duplicated (and the login key's line still works).
            let second = try shipkeep(arguments + ["--json"])
            #expect(second.status == 0, "\(second.stderr)")
            let install = try #require(jsonLines(second.stdout).last?["install"] as? [String: Any])
            #expect(install["authorizedKeys"] as? String == "kept", "\(install)")
            #expect(try String(contentsOfFile: keys, encoding: .utf8) == after)

            // The line as written: the deploy key reaches the agent, and nothing else.
            var deployArguments = vm.controllerArguments
            deployArguments[deployArguments.firstIndex(of: vm.server.userKeyPath)!] = deployKey
            let status = try shipkeep(["status", "--json"] + deployArguments)
            #expect(status.status == 0, "\(status.stderr)")

            // The login key itself as the "deploy key": its line has no forced command, so it is left alone.
            let own = vm.server.userKeyPath + ".pub"
            let refused = try shipkeep(arguments.map { $0 == deployKey + ".pub" ? own : $0 })
            #expect(refused.status == 1 && refused.stderr.contains("without a forced command"), "\(refused.stderr)")
            #expect(try String(contentsOfFile: keys, encoding: .utf8) == after)
        }
    }

    @Test func replaceChecksTheNewAgentYmlWithTheNewAgentAndKeepsABackup() throws {
        try withSandbox(forcedCommand: false) { vm in
            let remoteConfig = vm.root + "/vm-home/.config/shipkeep/agent.yml"
            let directory = (remoteConfig as NSString).deletingLastPathComponent
            let base = ["install", "--agent-binary", try BuildProducts.path("shipkeep-agent"), "--remote-path",
                        vm.root + "/vm-home/bin/shipkeep-agent", "--remote-config", remoteConfig] + vm.controllerArguments
            let first = try shipkeep(base + ["--agent-yml", vm.agentConfigPath])
            #expect(first.status == 0, "\(first.stderr)")
            let original = try String(contentsOfFile: remoteConfig, encoding: .utf8)

            // Not even valid YAML for shipkeep: refused here, before connecting.
            let invalid = vm.root + "/invalid.yml"
            try (original + "    colour: blue\n").write(toFile: invalid, atomically: true, encoding: .utf8)
            let local = try shipkeep(base + ["--agent-yml", invalid, "--replace"])
            #expect(local.status == 1 && local.stderr.contains("colour: unknown key"), "\(local.stderr)")

            // Valid here, unusable there: its state dir on the VM is writable by anyone. The new agent refuses it.
            let open = vm.root + "/open-state"
            try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
            chmod(open, 0o777)
            let unsafe = vm.root + "/unsafe.yml"
            try original.replacingOccurrences(of: "state: \(vm.stateDir)", with: "state: \(open)")
                .write(toFile: unsafe, atomically: true, encoding: .utf8)
            let refused = try shipkeep(base + ["--agent-yml", unsafe, "--replace"])
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("the agent refused the new agent.yml"), "\(refused.stderr)")
            #expect(refused.stderr.contains("writable by group or others"), "\(refused.stderr)")
            #expect(try String(contentsOfFile: remoteConfig, encoding: .utf8) == original)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["agent.yml"])

            // A good one replaces it; the old one is kept beside it.
            let good = vm.root + "/good.yml"
            try ("# v2 of agent.yml\n" + original).write(toFile: good, atomically: true, encoding: .utf8)
            let replaced = try shipkeep(base + ["--agent-yml", good, "--replace", "--json"])
            #expect(replaced.status == 0, "\(replaced.stderr)")
            let install = try #require(jsonLines(replaced.stdout).last?["install"] as? [String: Any])
            #expect(install["config"] as? String == "replaced", "\(install)")
            #expect(try String(contentsOfFile: remoteConfig, encoding: .utf8) == "# v2 of agent.yml\n" + original)
            #expect(try attributes(remoteConfig).mode == 0o600)
            let backup = try #require(install["configBackup"] as? String)
            #expect(backup.hasPrefix(remoteConfig + ".") && backup.hasSuffix(".bak"), "\(backup)")
            #expect(try String(contentsOfFile: backup, encoding: .utf8) == original)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
                    == ["agent.yml", (backup as NSString).lastPathComponent].sorted())
        }
    }

    @Test func withoutAnyAgentYmlNothingIsUploaded() throws {
        try withSandbox(forcedCommand: false) { vm in
            let remoteAgent = vm.root + "/vm-home/bin/shipkeep-agent"
            let result = try shipkeep(["install", "--agent-binary", try BuildProducts.path("shipkeep-agent"),
                                       "--remote-path", remoteAgent, "--remote-config", vm.root + "/vm-home/none.yml"]
                                      + vm.controllerArguments)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("no agent.yml was given: write one with `shipkeep init"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: remoteAgent))
        }
    }

    @Test func aForcedCommandKeyCannotInstallAndSaysWhy() throws {
        try withSandbox(forcedCommand: true) { vm in
            let result = try shipkeep(["install", "--agent-binary", try BuildProducts.path("shipkeep-agent"),
                                       "--remote-path", vm.root + "/x/shipkeep-agent"] + vm.controllerArguments)
            #expect(result.status == 3, "\(result.stderr)")
            #expect(result.stderr.contains("forced command"), "\(result.stderr)")
            let errors = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("shipkeep: warning:") }
            #expect(errors.count == 1, "\(result.stderr)")
        }
    }

    @Test func notAProgramIsRefusedBeforeConnecting() throws {
        try withSandbox(forcedCommand: false) { vm in
            let fake = vm.root + "/not-an-agent"
            try "#!/bin/sh\necho hi\n".write(toFile: fake, atomically: true, encoding: .utf8)
            chmod(fake, 0o755)
            let result = try shipkeep(["install", "--agent-binary", fake] + vm.controllerArguments)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("is not a Linux program"), "\(result.stderr)")
            #expect(!sshdSawAuthentication(vm.server.log()))
        }
    }

    /// The agent as `make release` builds it: `make test` passes its path; a plain `swift test` builds it here.
    private func staticAgent() throws -> String {
        if let path = ProcessInfo.processInfo.environment["SHIPKEEP_STATIC_AGENT"], !path.isEmpty { return path }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let build = try runProcess(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product",
                                    "shipkeep-agent", "--build-path", ".build-static"], cwd: package)
        guard build.status == 0 else { throw SandboxError("building the static agent failed: \(build.stderr)") }
        return package + "/.build-static/release/shipkeep-agent"
    }

    @Test func theReleaseAgentNeedsNoSwiftRuntimeAndServesAfterInstall() throws {
        let agent = try staticAgent()
        let ldd = try runProcess(["ldd", agent])
        #expect(ldd.status == 0, "\(ldd.stderr)")
        #expect(!ldd.stdout.contains("swift"), "the release agent needs Swift libraries:\n\(ldd.stdout)")
        try withSandbox(forcedCommand: false, bot: true) { vm in
            let remoteAgent = vm.root + "/vm-home/bin/shipkeep-agent"
            let installed = try shipkeep(["install", "--agent-binary", agent, "--agent-yml", vm.agentConfigPath,
                                          "--remote-path", remoteAgent, "--remote-config", vm.agentConfigPath]
                                         + vm.controllerArguments)
            #expect(installed.status == 0, "\(installed.stderr)")
            #expect(installed.stdout.contains("Swift runtime linked statically"), "\(installed.stdout)")
            #expect(!installed.stderr.contains("warning"), "\(installed.stderr)")
            let status = try shipkeep(["status", "--json", "--agent-command", remoteAgent, "--agent-config",
                                       vm.agentConfigPath] + vm.controllerArguments)
            #expect(status.status == 0, "\(status.stderr)")
        }
    }
}
