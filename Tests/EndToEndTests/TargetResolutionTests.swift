import Foundation
import Testing
import ShipkeepSandbox

/// TARGET resolves through shipkeep.yml, then ~/.ssh/config, as the command-line contract says.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct TargetResolutionTests {
    @Test func aShipkeepYmlTargetNeedsNoFlags() throws {
        try withSandbox(bot: true) { vm in
            let file = vm.root + "/shipkeep.yml"
            try ("targets:\n" + vm.targetYAML("prod")).write(toFile: file, atomically: false, encoding: .utf8)
            let result = try shipkeep(["status", "prod", "--json", "--config", file])
            #expect(result.status == 0, "\(result.stderr)")
            let overridden = try shipkeep(["status", "prod", "--config", file, "--port", "1"])
            #expect(overridden.status == 3, "a flag overrides the file")
            try "targets:\n  prod:\n    hots: x\n".write(toFile: file, atomically: false, encoding: .utf8)
            let broken = try shipkeep(["status", "prod", "--config", file])
            #expect(broken.status == 64, "a broken shipkeep.yml is a configuration error")
            #expect(broken.stderr.contains("shipkeep.yml:3: targets.prod.hots: unknown key"), "\(broken.stderr)")
        }
    }

    @Test func anSSHConfigAliasResolvesLikeOpenSSH() throws {
        try withSandbox(bot: true) { vm in
            let file = vm.root + "/ssh_config"
            try (vm.server.sshConfigHost("myvm") + "Host jumped\n    HostName 10.0.0.9\n    ProxyJump bastion1,bastion2\n")
                .write(toFile: file, atomically: false, encoding: .utf8)
            let result = try shipkeep(["status", "myvm", "--app", "bots", "--ssh-config", file])
            #expect(result.status == 0, "\(result.stderr)")
            let jumped = try shipkeep(["status", "jumped", "--ssh-config", file])
            #expect(jumped.status == 64, "an unsupported ProxyJump is a configuration error")
            #expect(jumped.stderr.contains("\"bastion1,bastion2\" has 2 hops"), "\(jumped.stderr)")
        }
    }

    @Test func theSSHAgentIsTriedFirstUnlessIdentitiesOnly() throws {
        try withSandbox(bot: true) { vm in
            let stranger = vm.root + "/stranger_key"
            let keygen = try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger])
            #expect(keygen.status == 0, "\(keygen.stderr)")
            let agent = try SSHAgentProcess(socketPath: vm.root + "/agent.sock")
            defer { agent.stop() }
            try agent.add(keyPath: vm.server.userKeyPath)
            let arguments = ["status", "--host", vm.server.listenAddress, "--port", String(vm.server.port),
                             "--user", vm.server.user, "--known-hosts", vm.server.knownHostsPath, "--app", "bots",
                             "--identity", stranger]

            // The agent's key goes first, so the server never even sees the named key fail.
            let first = try shipkeep(arguments, environment: ["SSH_AUTH_SOCK": agent.socketPath])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(!vm.server.log().contains("Failed publickey"), "a key was tried before the agent's")

            // IdentitiesOnly yes: only the named key is offered, and it is the wrong one.
            let config = vm.root + "/ssh_config"
            try "Host *\n    IdentitiesOnly yes\n".write(toFile: config, atomically: false, encoding: .utf8)
            let only = try shipkeep(arguments + ["--ssh-config", config], environment: ["SSH_AUTH_SOCK": agent.socketPath])
            #expect(only.status == 3, "\(only.stderr)")
            #expect(vm.server.log().contains("Failed publickey"))
        }
    }
}
