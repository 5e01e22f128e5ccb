import Foundation
import ShipkeepSandbox
import Testing

/// `shipkeep` through a jump host: two real sshd, the bastion's log (DEBUG1) proving the direct-tcpip forward.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct JumpHostTests {
    /// Starts a bastion sshd next to the sandbox VM. It accepts the VM's key too unless `acceptVMKey` is false,
    /// as a bastion usually accepts the same deploy key.
    private func withBastion<T>(
        _ vm: VMSandbox,
        allowTcpForwarding: Bool = true,
        acceptVMKey: Bool = true,
        _ body: (SSHServer) throws -> T
    ) throws -> T {
        let bastion = try SSHServer(
            directory: vm.root + "/bastion",
            forcedCommand: nil,
            logLevel: "DEBUG1",
            allowTcpForwarding: allowTcpForwarding
        )
        if acceptVMKey {
            try bastion.authorize(publicKeyLine: vm.server.userPublicKeyLine, forcedCommand: nil)
        }
        try bastion.start()
        defer { bastion.stop() }
        return try body(bastion)
    }

    /// A known_hosts file listing both the VM and the bastion.
    private func bothKnownHosts(_ vm: VMSandbox, _ bastion: SSHServer) throws -> String {
        let path = vm.root + "/both_known_hosts"
        let text = try String(contentsOfFile: vm.server.knownHostsPath, encoding: .utf8)
            + String(contentsOfFile: bastion.knownHostsPath, encoding: .utf8)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// The VM's flags with the combined known_hosts file and `--jump` to the bastion.
    private func jumpArguments(_ vm: VMSandbox, _ bastion: SSHServer) throws -> [String] {
        var arguments = vm.controllerArguments
        arguments[try #require(arguments.firstIndex(of: "--known-hosts")) + 1] = try bothKnownHosts(vm, bastion)
        return arguments + ["--jump", "\(bastion.user)@\(bastion.listenAddress):\(bastion.port)"]
    }

    /// Waits until the bastion's log shows a direct-tcpip forward to the VM's sshd.
    private func expectForward(_ bastion: SSHServer, to vm: VMSandbox) {
        let line = "target \(vm.server.listenAddress) port \(vm.server.port)"
        #expect(throws: Never.self, "bastion log: \(bastion.log())") {
            try waitUntil("the bastion logs the forward", timeout: 10) { bastion.log().contains(line) }
        }
    }

    @Test func statusGoesThroughAJumpHostNamedInShipkeepYml() throws {
        try withSandbox(bot: true) { vm in
            try withBastion(vm) { bastion in
                let file = vm.root + "/shipkeep.yml"
                try ("targets:\n" + vm.targetYAML("prod", knownHosts: try bothKnownHosts(vm, bastion),
                                                   extra: [("jump", "\(bastion.user)@\(bastion.listenAddress):\(bastion.port)")]))
                    .write(toFile: file, atomically: false, encoding: .utf8)
                let result = try shipkeep(["status", "prod", "--config", file, "--verbose"])
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout.hasPrefix("OK"), "\(result.stdout)")
                #expect(result.stderr.contains("going through jump host \(bastion.user)@\(bastion.listenAddress):"
                    + "\(bastion.port)"), "\(result.stderr)")
                expectForward(bastion, to: vm)
            }
        }
    }

    @Test func statusGoesThroughTheProxyJumpOfAnSSHConfigAliasWithTheBastionsOwnKey() throws {
        try withSandbox(bot: true) { vm in
            try withBastion(vm, acceptVMKey: false) { bastion in
                let config = vm.root + "/ssh_config"
                try (vm.server.sshConfigHost("myvm", extra: ["ProxyJump gate"]) + bastion.sshConfigHost("gate"))
                    .write(toFile: config, atomically: false, encoding: .utf8)
                let result = try shipkeep(["status", "myvm", "--app", "bots", "--json"],
                                          environment: ["SHIPKEEP_SSH_CONFIG": config])
                #expect(result.status == 0, "\(result.stderr)")
                #expect(jsonLines(result.stdout).last?["ok"] as? Bool == true)
                expectForward(bastion, to: vm)
                let direct = try shipkeep(["status", "myvm", "--app", "bots", "--jump", "none"],
                                          environment: ["SHIPKEEP_SSH_CONFIG": config])
                #expect(direct.status == 0, "--jump none connects directly: \(direct.stderr)")
            }
        }
    }

    @Test func aWrongJumpHostKeyIsRefusedBeforeAuthenticationAndNothingReachesTheVM() throws {
        try withSandbox { vm in
            try withBastion(vm) { bastion in
                let impostor = vm.root + "/impostor"
                let made = try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", impostor])
                try #require(made.status == 0)
                let fields = try String(contentsOfFile: impostor + ".pub", encoding: .utf8).split(separator: " ")
                let knownHosts = vm.root + "/wrong_bastion_known_hosts"
                try (String(contentsOfFile: vm.server.knownHostsPath, encoding: .utf8)
                    + "[\(bastion.listenAddress)]:\(bastion.port) \(fields[0]) \(fields[1])\n")
                    .write(toFile: knownHosts, atomically: false, encoding: .utf8)
                var arguments = try jumpArguments(vm, bastion)
                arguments[try #require(arguments.firstIndex(of: "--known-hosts")) + 1] = knownHosts
                let vmConnections = vm.server.log().components(separatedBy: "Connection from").count
                let result = try shipkeep(["status", "--json"] + arguments)
                #expect(result.status == 3)
                #expect(result.stderr.contains("jump host \(bastion.listenAddress):\(bastion.port): host key mismatch"),
                        "\(result.stderr)")
                #expect(result.stderr.contains(bastion.hostKeyFingerprint), "names the offered key")
                #expect(result.stderr.split(separator: "\n").count == 1)
                let last = try #require(jsonLines(result.stdout).last)
                #expect((last["error"] as? [String: Any])?["code"] as? String == "host_key")
                #expect(!sshdSawAuthentication(bastion.log()), "a credential went to an unverified jump host")
                #expect(vm.server.log().components(separatedBy: "Connection from").count == vmConnections,
                        "something reached the VM: \(vm.server.log())")
            }
        }
    }

    @Test func aJumpHostThatRefusesForwardingIsOneClearLineAndExit3() throws {
        try withSandbox { vm in
            try withBastion(vm, allowTcpForwarding: false) { bastion in
                let result = try shipkeep(["status"] + (try jumpArguments(vm, bastion)))
                #expect(result.status == 3)
                #expect(result.stderr.contains("jump host \(bastion.listenAddress):\(bastion.port) refused to open a "
                    + "tunnel to \(vm.server.listenAddress):\(vm.server.port)"), "\(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
                #expect(bastion.log().contains("refused local port forward"), "\(bastion.log())")
            }
        }
    }

    @Test func aDeployGoesThroughTheJumpHost() throws {
        try withSandbox(bot: true) { vm in
            try withBastion(vm) { bastion in
                try vm.fillData(files: 200, bytesEach: 64 * 1024)
                let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2 through the bastion")
                let output = try shipkeep(["deploy", "--json"] + (try jumpArguments(vm, bastion)))
                #expect(output.status == 0, "\(output.stderr)\n\(output.stdout.suffix(2000))")
                #expect(try vm.liveCommit() == target)
                let events = jsonLines(output.stdout)
                let phases = events.filter { $0["type"] as? String == "phase" && $0["state"] as? String == "completed" }
                    .compactMap { $0["name"] as? String }
                #expect(phases == ["preflight", "snapshot", "update", "verify", "restart", "health"])
                #expect(events.last?["ok"] as? Bool == true)
                expectForward(bastion, to: vm)
            }
        }
    }
}
