import Foundation
import Testing
import ShipkeepSandbox

/// What the deploy key (`restrict,command="shipkeep-agent serve …"`, the key the controller logs in with) can
/// and cannot do through the real sshd, the modes of what the agent keeps, and the agent's refusal to use a
/// config or state dir that other users can write.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct LeastPrivilegeTests {
    private func ssh(_ vm: VMSandbox, _ options: [String], command: String? = nil) throws -> ProcessResult {
        // -T unless the test asks for a terminal itself.
        try runProcess(["ssh", options.contains("-tt") ? "-4" : "-T", "-o", "BatchMode=yes",
                        "-o", "StrictHostKeyChecking=yes",
                        "-o", "UserKnownHostsFile=\(vm.server.knownHostsPath)", "-o", "IdentitiesOnly=yes",
                        "-o", "ConnectTimeout=10", "-i", vm.server.userKeyPath, "-p", String(vm.server.port)]
                       + options + ["\(vm.server.user)@\(vm.server.listenAddress)"] + (command.map { [$0] } ?? []),
                       environment: ["SSH_AUTH_SOCK": ""])
    }

    @Test func theDeployKeyCannotForwardPorts() throws {
        try withSandbox { vm in
            // -W is a direct-tcpip channel, exactly what -L opens per connection.
            let local = try ssh(vm, ["-W", "\(vm.server.listenAddress):\(vm.server.port)"])
            #expect(local.status == 255, "exit \(local.status): \(local.stderr)")
            #expect(local.stderr.contains("prohibited"), "\(local.stderr)")
            #expect(!local.stdout.contains("SSH-2.0"), "no byte of the forwarded service came back")
            let remote = try ssh(vm, ["-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:\(vm.server.port)"])
            #expect(remote.status == 255, "exit \(remote.status): \(remote.stderr)")
            #expect(remote.stderr.contains("forwarding failed"), "\(remote.stderr)")
            let socks = try ssh(vm, ["-W", "localhost:22"], command: nil)
            #expect(socks.status == 255)
            let log = vm.server.log()
            let logged = ["refused", "disabled", "prohibited"].contains { log.contains($0) }
            #expect(logged, "\(log.suffix(800))")

            try ReliabilityRecord.hostileInput(
                id: "10", scenario: "port forwarding with the deploy key: `-W` to sshd and to localhost:22, `-R`",
                injection: "OpenSSH client with the deploy key",
                outcome: "ssh \(HostileOutcome.exits([local.status, remote.status, socks.status])); "
                    + (local.stderr.contains("prohibited") ? "-W: administratively prohibited" : "-W: not refused")
                    + "; " + (remote.stderr.contains("forwarding failed") ? "-R: forwarding failed" : "-R: not refused")
                    + (local.stdout.contains("SSH-2.0") ? "; a banner came back through -W" : "; no byte forwarded")
                    + "; " + (logged ? "refusal in sshd's log" : "sshd logged no refusal"),
                test: "LeastPrivilegeTests/theDeployKeyCannotForwardPorts()"
            ).write()
        }
    }

    @Test func theDeployKeyGetsTheAgentWhateverCommandOrTerminalIsAskedFor() throws {
        try withSandbox { vm in
            let marker = vm.root + "/pwned"
            var statuses: [Int32] = []
            var ptyRefused = false
            for (options, command) in [([String](), "sh -c 'touch \(marker)'"), (["-tt"], "touch \(marker)"),
                                       (["-s"], "sftp"), ([], "/bin/bash -i")] {
                let result = try ssh(vm, options, command: command)
                #expect(!FileManager.default.fileExists(atPath: marker), "\(options) \(command) ran")
                if options == ["-tt"] {
                    // `restrict` includes no-pty: the terminal is refused outright.
                    ptyRefused = result.stderr.contains("PTY allocation request failed")
                    #expect(ptyRefused, "\(result.stderr)")
                } else {
                    statuses.append(result.status)
                    // The agent answers: no shell, no sftp server, just the protocol (empty input: exit 0).
                    #expect(result.status == 0, "\(options) \(command): exit \(result.status) \(result.stderr)")
                }
                #expect(!result.stdout.contains("$ ") && !result.stdout.contains("# "), "\(result.stdout)")
            }

            try ReliabilityRecord.hostileInput(
                id: "11", scenario: "a shell or another program with the deploy key: `sh -c 'touch X'`, `-tt touch X`, "
                    + "`-s sftp`, `/bin/bash -i`",
                injection: "OpenSSH client with the deploy key",
                outcome: "the agent ran instead (empty input: \(HostileOutcome.exits(statuses))); "
                    + (ptyRefused ? "pty refused" : "pty not refused") + "; no shell prompt; "
                    + HostileOutcome.ran(marker),
                test: "LeastPrivilegeTests/theDeployKeyGetsTheAgentWhateverCommandOrTerminalIsAskedFor()"
            ).write()
        }
    }

    @Test func stateJournalAndSnapshotsAreKeptPrivate() throws {
        try withSandbox { vm in
            try vm.fillData(files: 2, bytesEach: 1024)
            let deployed = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(deployed.status == 0, "\(deployed.stderr)")
            let fm = FileManager.default
            var checked = 0
            var dirs = 0, files = 0, open = 0
            let enumerator = try #require(fm.enumerator(atPath: vm.stateDir))
            for case let relative as String in enumerator {
                let path = vm.stateDir + "/" + relative
                var info = stat()
                #expect(lstat(path, &info) == 0)
                let mode = info.st_mode & 0o7777
                if info.st_mode & S_IFMT == S_IFDIR {
                    #expect(mode == 0o700, "\(relative) is \(String(mode, radix: 8)), not 700")
                    dirs += 1
                    open += mode == 0o700 ? 0 : 1
                } else if info.st_mode & S_IFMT == S_IFREG {
                    #expect(mode & 0o077 == 0, "\(relative) is \(String(mode, radix: 8)): open to group or others")
                    files += 1
                    open += mode & 0o077 == 0 ? 0 : 1
                }
                checked += 1
            }
            var root = stat()
            #expect(stat(vm.stateDir, &root) == 0 && root.st_mode & 0o7777 == 0o700)
            var privateFiles = 0
            for file in ["lock", "last-deploy.json"] {
                var info = stat()
                #expect(stat(vm.stateDir + "/" + file, &info) == 0, "\(file) exists")
                #expect(info.st_mode & 0o077 == 0, "\(file) is \(String(info.st_mode & 0o777, radix: 8))")
                privateFiles += info.st_mode & 0o077 == 0 ? 1 : 0
            }
            let journals = try fm.contentsOfDirectory(atPath: vm.stateDir + "/deploys")
                .filter { $0.hasSuffix(".jsonl") }
            #expect(journals.count == 1)
            for journal in journals {
                var info = stat()
                #expect(stat(vm.stateDir + "/deploys/" + journal, &info) == 0 && info.st_mode & 0o077 == 0)
                privateFiles += info.st_mode & 0o077 == 0 ? 1 : 0
            }
            #expect(checked > 5, "walked the state dir")

            // Counts of what was walked vary with the deploy's files; whether any was open does not.
            try ReliabilityRecord.hostileInput(
                id: "13", scenario: "modes of the state dir, lock, journals, records and snapshots after a deploy",
                injection: "a deploy, then every entry of the state dir walked with lstat",
                outcome: (dirs > 0 && files > 0 && open == 0
                          ? "every dir 700, no group or other bit on any file" : "\(open) entries open to others")
                    + "; state dir mode \(String(root.st_mode & 0o777, radix: 8)); "
                    + "lock, last-deploy.json and the journal: \(privateFiles) of 3 private",
                test: "LeastPrivilegeTests/stateJournalAndSnapshotsAreKeptPrivate()"
            ).write()
        }
    }

    @Test func theAgentRefusesAConfigOrStateDirOthersCanWrite() throws {
        try withSandbox(bot: true) { vm in
            try FileManager.default.createDirectory(atPath: vm.stateDir, withIntermediateDirectories: true)
            chmod(vm.stateDir, 0o700)
            let cases: [(path: String, mode: mode_t, safe: mode_t)] = [
                (vm.agentConfigPath, 0o666, 0o644),
                ((vm.agentConfigPath as NSString).deletingLastPathComponent, 0o777, 0o755),
                (vm.stateDir, 0o770, 0o700),
            ]
            var agentExits: [Int32] = [], statusExits: [Int32] = []
            var explained = true
            for (path, mode, safe) in cases {
                chmod(path, mode)
                defer { chmod(path, safe) }
                let raw = try ssh(vm, [])
                #expect(raw.status == 64, "\(path) mode \(String(mode, radix: 8)): exit \(raw.status)")
                let status = try shipkeep(["status"] + vm.controllerArguments)
                // The VM was asked and said its configuration cannot be used: a configuration error (64), not
                // UNKNOWN (3, the VM could not be asked).
                #expect(status.status == 64, "\(status.stdout)")
                let said = status.stdout + status.stderr
                #expect(said.contains(path) && said.contains("chmod go-w"), "\(said)")
                agentExits.append(raw.status)
                statusExits.append(status.status)
                explained = explained && said.contains(path) && said.contains("chmod go-w")
            }
            let fine = try shipkeep(["status"] + vm.controllerArguments)
            #expect(fine.status == 0, "back to safe modes: \(fine.stderr)")

            try ReliabilityRecord.hostileInput(
                id: "12", scenario: "agent.yml mode 666, its dir 777, the state dir 770",
                injection: "chmod on the VM, then the agent over ssh and `shipkeep status`",
                outcome: "agent \(HostileOutcome.exits(agentExits)); status \(HostileOutcome.exits(statusExits)), "
                    + (explained ? "naming the path and `chmod go-w`" : "without naming the path and the fix")
                    + "; status \(HostileOutcome.exits([fine.status])) once the modes are safe again",
                test: "LeastPrivilegeTests/theAgentRefusesAConfigOrStateDirOthersCanWrite()"
            ).write()
        }
    }
}
