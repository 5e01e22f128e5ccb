import Foundation
import Testing
import ShipkeepSandbox

/// What the deploy key (`restrict,command="shipkeep-agent serve …"`, the key the controller logs in with) can
/// and cannot do through the real sshd, the modes of what the agent keeps, and the agent's refusal to use a
/// config or state dir that other users can write.
@Suite(.serialized, .timeLimit(.minutes(5)))
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
            #expect(["refused", "disabled", "prohibited"].contains { log.contains($0) }, "\(log.suffix(800))")
        }
    }

    @Test func theDeployKeyGetsTheAgentWhateverCommandOrTerminalIsAskedFor() throws {
        try withSandbox { vm in
            let marker = vm.root + "/pwned"
            for (options, command) in [([String](), "sh -c 'touch \(marker)'"), (["-tt"], "touch \(marker)"),
                                       (["-s"], "sftp"), ([], "/bin/bash -i")] {
                let result = try ssh(vm, options, command: command)
                #expect(!FileManager.default.fileExists(atPath: marker), "\(options) \(command) ran")
                if options == ["-tt"] {
                    // `restrict` includes no-pty: the terminal is refused outright.
                    #expect(result.stderr.contains("PTY allocation request failed"), "\(result.stderr)")
                } else {
                    // The agent answers: no shell, no sftp server, just the protocol (empty input: exit 0).
                    #expect(result.status == 0, "\(options) \(command): exit \(result.status) \(result.stderr)")
                }
                #expect(!result.stdout.contains("$ ") && !result.stdout.contains("# "), "\(result.stdout)")
            }
        }
    }

    @Test func stateJournalAndSnapshotsAreKeptPrivate() throws {
        try withSandbox { vm in
            try vm.fillData(files: 2, bytesEach: 1024)
            let deployed = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(deployed.status == 0, "\(deployed.stderr)")
            let fm = FileManager.default
            var checked = 0
            let enumerator = try #require(fm.enumerator(atPath: vm.stateDir))
            for case let relative as String in enumerator {
                let path = vm.stateDir + "/" + relative
                var info = stat()
                #expect(lstat(path, &info) == 0)
                let mode = info.st_mode & 0o7777
                if info.st_mode & S_IFMT == S_IFDIR {
                    #expect(mode == 0o700, "\(relative) is \(String(mode, radix: 8)), not 700")
                } else if info.st_mode & S_IFMT == S_IFREG {
                    #expect(mode & 0o077 == 0, "\(relative) is \(String(mode, radix: 8)): open to group or others")
                }
                checked += 1
            }
            var root = stat()
            #expect(stat(vm.stateDir, &root) == 0 && root.st_mode & 0o7777 == 0o700)
            for file in ["lock", "last-deploy.json"] {
                var info = stat()
                #expect(stat(vm.stateDir + "/" + file, &info) == 0, "\(file) exists")
                #expect(info.st_mode & 0o077 == 0, "\(file) is \(String(info.st_mode & 0o777, radix: 8))")
            }
            let journals = try fm.contentsOfDirectory(atPath: vm.stateDir + "/deploys")
                .filter { $0.hasSuffix(".jsonl") }
            #expect(journals.count == 1)
            for journal in journals {
                var info = stat()
                #expect(stat(vm.stateDir + "/deploys/" + journal, &info) == 0 && info.st_mode & 0o077 == 0)
            }
            #expect(checked > 5, "walked the state dir")
        }
    }

    @Test func theAgentRefusesAConfigOrStateDirOthersCanWrite() throws {
        try withSandbox { vm in
            try FileManager.default.createDirectory(atPath: vm.stateDir, withIntermediateDirectories: true)
            chmod(vm.stateDir, 0o700)
            let cases: [(path: String, mode: mode_t, safe: mode_t)] = [
                (vm.agentConfigPath, 0o666, 0o644),
                ((vm.agentConfigPath as NSString).deletingLastPathComponent, 0o777, 0o755),
                (vm.stateDir, 0o770, 0o700),
            ]
            for (path, mode, safe) in cases {
                chmod(path, mode)
                defer { chmod(path, safe) }
                let raw = try ssh(vm, [])
                #expect(raw.status == 78, "\(path) mode \(String(mode, radix: 8)): exit \(raw.status)")
                let status = try shipkeep(["status"] + vm.controllerArguments)
                #expect(status.status == 3, "\(status.stdout)")
                let said = status.stdout + status.stderr
                #expect(said.contains(path) && said.contains("chmod go-w"), "\(said)")
            }
            let fine = try shipkeep(["status"] + vm.controllerArguments)
            #expect(fine.status == 0, "back to safe modes: \(fine.stderr)")
        }
    }
}
