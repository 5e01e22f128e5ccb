import Foundation
import Testing

@testable import Controller

/// Which jump host applies and how it resolves: flag > SHIPKEEP_JUMP > shipkeep.yml > ssh config ProxyJump.
@Suite struct JumpResolutionTests {
    /// A directory with an ssh config, a known_hosts file, two key files and a shipkeep.yml.
    private struct Files {
        let directory: String
        var sshConfig: String { directory + "/ssh_config" }
        var knownHosts: String { directory + "/known_hosts" }
        var targetKey: String { directory + "/target_key" }
        var bastionKey: String { directory + "/bastion_key" }
        var project: String { directory + "/shipkeep.yml" }

        init(sshConfig: String = "", project: String = "targets: {}\n") throws {
            directory = NSTemporaryDirectory() + "jump-resolution-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for path in [knownHosts, targetKey, bastionKey] {
                try "placeholder\n".write(toFile: path, atomically: false, encoding: .utf8)
            }
            try sshConfig.replacingOccurrences(of: "$DIR", with: directory)
                .write(toFile: self.sshConfig, atomically: false, encoding: .utf8)
            try project.write(toFile: self.project, atomically: false, encoding: .utf8)
        }
    }

    private let sshConfig = """
        Host vm
            HostName 10.0.0.9
            IdentityFile $DIR/target_key
        Host inner
            HostName 10.0.0.10
            ProxyJump bastion
        Host bastion
            HostName bastion.example
            User jumper
            Port 2222
            IdentityFile $DIR/bastion_key
        Host chained
            ProxyJump other
        """

    private func resolve(
        _ arguments: [String],
        _ files: Files,
        environment: [String: String] = [:]
    ) throws -> SSHConnectOptions {
        let options = try TargetOptions.parse(
            arguments + ["--ssh-config", files.sshConfig, "--known-hosts", files.knownHosts, "--config", files.project]
                + (arguments.contains("--identity") ? [] : ["--identity", files.targetKey])
        )
        return try options.resolve(environment: ["USER": "me"].merging(environment) { $1 }).ssh
    }

    @Test func theFirstSettingWinsAndNoneTurnsItOff() {
        let env = ["SHIPKEEP_JUMP": "env-host"]
        #expect(TargetOptions.jumpSetting(flag: "flag-host", env: env, project: "yml", proxyJump: "cfg") == "flag-host")
        #expect(TargetOptions.jumpSetting(flag: nil, env: env, project: "yml", proxyJump: "cfg") == "env-host")
        #expect(TargetOptions.jumpSetting(flag: nil, env: [:], project: "yml", proxyJump: "cfg") == "yml")
        #expect(TargetOptions.jumpSetting(flag: nil, env: [:], project: nil, proxyJump: "cfg") == "cfg")
        #expect(TargetOptions.jumpSetting(flag: "none", env: env, project: "yml", proxyJump: "cfg") == nil)
        #expect(TargetOptions.jumpSetting(flag: nil, env: [:], project: "None", proxyJump: "cfg") == nil)
        #expect(TargetOptions.jumpSetting(flag: nil, env: [:], project: nil, proxyJump: nil) == nil)
    }

    @Test(arguments: [
        ("bastion", nil as String?, "bastion", nil as Int?),
        ("ops@bastion:2222", "ops", "bastion", 2222),
        ("ssh://ops@bastion:22", "ops", "bastion", 22),
        ("[::1]:2200", nil, "::1", 2200),
    ])
    func parsesOneHop(text: String, user: String?, host: String, port: Int?) throws {
        #expect(try TargetOptions.parseJump(text) == TargetAddress(user: user, host: host, port: port))
    }

    @Test func moreThanOneHopIsAUsageError() throws {
        let error = try #require(throws: ControllerError.self) { try TargetOptions.parseJump("a.example,b.example") }
        #expect(error.kind == .usage)
        #expect(error.message.contains("2 hops") && error.message.contains("one jump host"), "\(error.message)")
        #expect(throws: ControllerError.self) { try TargetOptions.parseJump("-oProxyCommand=evil") }
    }

    @Test func anAliasResolvesThroughSSHConfigWithItsOwnKeyAfterTheTargets() throws {
        let files = try Files(sshConfig: sshConfig)
        let options = try resolve(["vm", "--jump", "bastion", "--identity", files.targetKey], files)
        let jump = try #require(options.jump)
        #expect(options.host == "10.0.0.9")
        #expect(jump.host == "bastion.example")
        #expect(jump.port == 2222)
        #expect(jump.user == "jumper")
        #expect(jump.credentials.map(\.label) == ["key file \(files.targetKey)", "key file \(files.bastionKey)"])
        guard case .knownHosts(let paths) = jump.hostKeyPolicy else {
            Issue.record("the jump host is verified with known_hosts")
            return
        }
        #expect(paths == [files.knownHosts])
    }

    @Test func userAndPortInTheSettingWinOverSSHConfig() throws {
        let files = try Files(sshConfig: sshConfig)
        let jump = try #require(try resolve(["vm", "--jump", "ops@bastion:2201"], files).jump)
        #expect(jump.user == "ops")
        #expect(jump.port == 2201)
        #expect(jump.host == "bastion.example")
    }

    @Test func sshConfigProxyJumpAppliesAndTheFlagOverridesIt() throws {
        let files = try Files(sshConfig: sshConfig)
        #expect(try resolve(["inner"], files).jump?.host == "bastion.example")
        #expect(try resolve(["inner", "--jump", "none"], files).jump == nil)
        #expect(try resolve(["inner"], files, environment: ["SHIPKEEP_JUMP": "none"]).jump == nil)
        #expect(try resolve(["inner"], files, environment: ["SHIPKEEP_JUMP": "10.9.9.9:22"]).jump?.host == "10.9.9.9")
        #expect(try resolve(["vm"], files).jump == nil)
    }

    @Test func shipkeepYmlJumpAndPinApplyBelowTheEnvironment() throws {
        let files = try Files(sshConfig: sshConfig, project: """
            targets:
              prod:
                host: 10.0.0.20
                jump: deploy@gate.example:2022
                jump_fingerprint: SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
            """)
        let fromFile = try #require(try resolve(["prod", "--identity", files.targetKey], files).jump)
        #expect(fromFile.host == "gate.example")
        #expect(fromFile.user == "deploy")
        #expect(fromFile.port == 2022)
        guard case .fingerprint(let pin) = fromFile.hostKeyPolicy else {
            Issue.record("jump_fingerprint pins the jump host")
            return
        }
        #expect(pin == "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        let env = ["SHIPKEEP_JUMP": "bastion", "SHIPKEEP_JUMP_FINGERPRINT": "SHA256:BBB"]
        let fromEnv = try #require(try resolve(["prod", "--identity", files.targetKey], files, environment: env).jump)
        #expect(fromEnv.host == "bastion.example")
        guard case .fingerprint(let envPin) = fromEnv.hostKeyPolicy else {
            Issue.record("SHIPKEEP_JUMP_FINGERPRINT pins the jump host")
            return
        }
        #expect(envPin == "SHA256:BBB")
    }

    @Test func aJumpHostThatItselfNeedsAJumpIsAUsageError() throws {
        let files = try Files(sshConfig: sshConfig)
        let error = try #require(throws: ControllerError.self) {
            try resolve(["vm", "--jump", "chained"], files)
        }
        #expect(error.kind == .usage)
        #expect(error.message.contains("one jump host"), "\(error.message)")
    }

    @Test func aMalformedJumpPinIsAUsageError() throws {
        let files = try Files(sshConfig: sshConfig)
        let error = try #require(throws: ControllerError.self) {
            try resolve(["vm", "--jump", "bastion", "--jump-fingerprint", "md5:00"], files)
        }
        #expect(error.message.contains("--jump-fingerprint"))
    }
}
