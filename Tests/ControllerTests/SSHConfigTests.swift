import Foundation
import Testing
@testable import Controller

@Suite struct SSHConfigTests {
    private func config(_ text: String, extra: [String: String] = [:]) throws -> SSHConfig {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sshcfg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, content) in extra { try content.write(toFile: dir + "/" + name, atomically: false, encoding: .utf8) }
        try text.write(toFile: dir + "/config", atomically: false, encoding: .utf8)
        return try SSHConfig(file: dir + "/config")
    }

    @Test func theFirstObtainedValueWinsAcrossMatchingBlocks() throws {
        let cfg = try config("""
            # comment
            Host prod
                HostName 10.0.0.5
                User deploy
                Port=2222
                IdentityFile ~/.ssh/deploy_ed25519
            Host prod staging
                User other
                Port 22
            Host *
                User fallback
                IdentityFile %d/.ssh/id_ed25519
                UserKnownHostsFile ~/.ssh/known_hosts_%h
            """)
        let prod = cfg.resolve("prod", localUser: "me")
        #expect(prod.hostName == "10.0.0.5")
        #expect(prod.user == "deploy")
        #expect(prod.port == 2222)
        #expect(prod.identityFiles == [NSHomeDirectory() + "/.ssh/deploy_ed25519", NSHomeDirectory() + "/.ssh/id_ed25519"])
        #expect(prod.userKnownHostsFiles == [NSHomeDirectory() + "/.ssh/known_hosts_prod"])
        let staging = cfg.resolve("staging", localUser: "me")
        #expect(staging.user == "other")
        #expect(staging.hostName == nil)
        #expect(cfg.resolve("elsewhere", localUser: "me").user == "fallback")
    }

    @Test func patternsGlobAndNegate() {
        #expect(SSHConfig.matches("web-1.example.com", ["*.example.com"]))
        #expect(SSHConfig.matches("web-1", ["web-?"]))
        #expect(!SSHConfig.matches("web-10", ["web-?"]))
        #expect(!SSHConfig.matches("bastion.example.com", ["*.example.com", "!bastion.*"]))
        #expect(!SSHConfig.matches("anything", ["!anything"]))
        #expect(SSHConfig.matches("PROD", ["prod"]))
    }

    @Test func matchBlocksAreSkippedAndIncludesAreRead() throws {
        let cfg = try config("""
            Include extra.conf
            Match exec "true"
                User matched
            Host vm
                ProxyJump bastion
            """, extra: ["extra.conf": "Host vm\n    User included\n"])
        let vm = cfg.resolve("vm", localUser: "me")
        #expect(vm.user == "included")
        #expect(vm.proxyJump == "bastion")
        // An Include inside a Match block belongs to it, as in OpenSSH (indentation means nothing).
        let inside = try config("Match exec \"true\"\nInclude extra.conf\n", extra: ["extra.conf": "Host vm\n    User x\n"])
        #expect(inside.resolve("vm", localUser: "me").user == nil)
    }

    @Test func aMissingFileIsEmptyAndAMalformedLineIsNamed() throws {
        #expect(try SSHConfig(file: "/nonexistent/config").resolve("x", localUser: "me") == SSHConfig.Resolved())
        #expect(throws: ControllerError.self) { _ = try config("Host vm\n    HostName\n") }
    }
}
