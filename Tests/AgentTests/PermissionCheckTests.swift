import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared

/// The agent refuses an `agent.yml`, state dir or snapshot dir that another user could have written.
@Suite(.serialized, .timeLimit(.minutes(10))) struct PermissionCheckTests {
    private let tmp: TemporaryDirectory
    private let config: AgentConfig

    init() throws {
        tmp = try TemporaryDirectory()
        chmod(tmp.path, 0o755)
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    data: [out]\n    state: \(tmp.path)/state\n"
            + "    snapshots: { dir: \(tmp.path)/snapshots }\n"
        try tmp.write("etc/agent.yml", yaml)
        chmod(tmp.path + "/etc", 0o755)
        chmod(tmp.path + "/etc/agent.yml", 0o644)
        config = try AgentConfig.load(file: tmp.path + "/etc/agent.yml")
    }

    private func refusal() -> String? {
        do {
            try PermissionCheck.check(config)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func safeModesPassAndMissingDirsAreLeftToBeCreated() throws {
        #expect(refusal() == nil)
        try FileManager.default.createDirectory(atPath: tmp.path + "/state/deploys", withIntermediateDirectories: true)
        chmod(tmp.path + "/state", 0o700)
        #expect(refusal() == nil)
    }

    @Test(arguments: ["etc/agent.yml", "etc", "state", "state/deploys", "state/lock", "snapshots"])
    func aPathWritableByOthersIsRefused(relative: String) throws {
        let path = tmp.path + "/" + relative
        if relative.hasSuffix("lock") {
            try FileManager.default.createDirectory(atPath: tmp.path + "/state", withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: path, contents: nil))
        } else if !FileManager.default.fileExists(atPath: path) {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        for mode: mode_t in [0o664, 0o646] {
            chmod(path, relative.hasSuffix(".yml") || relative.hasSuffix("lock") ? mode : mode | 0o111)
            let message = try #require(refusal(), "mode \(String(mode, radix: 8)) of \(relative) was accepted")
            #expect(message.contains(path) && message.contains("writable by group or others"), "\(message)")
            #expect(message.contains("chmod go-w"), "says what to do: \(message)")
        }
    }

    @Test func aStickyWorldWritableConfigDirIsAcceptedLikeTmp() throws {
        chmod(tmp.path + "/etc", 0o1777)
        #expect(refusal() == nil)
        try FileManager.default.createDirectory(atPath: tmp.path + "/state", withIntermediateDirectories: true)
        chmod(tmp.path + "/state", 0o1777)
        #expect(refusal()?.contains("writable by group or others") == true, "a sticky state dir is still refused")
    }

    @Test func aStateDirOwnedByAnotherUserIsRefused() throws {
        let other: uid_t = geteuid() == 0 ? 65534 : geteuid()
        try #require(geteuid() == 0, "chown to another user needs root (the test machines run as root)")
        try FileManager.default.createDirectory(atPath: tmp.path + "/state", withIntermediateDirectories: true)
        chmod(tmp.path + "/state", 0o700)
        #expect(chown(tmp.path + "/state", other, 65534) == 0)
        let message = try #require(refusal())
        #expect(message.contains("owned by uid \(other)") && message.contains("chown -R"), "\(message)")
        // The config itself may belong to root even when the agent runs as someone else.
        #expect(chown(tmp.path + "/state", 0, 0) == 0)
        #expect(chown(tmp.path + "/etc/agent.yml", other, 65534) == 0)
        #expect(refusal()?.contains("agent.yml") == true)
    }
}
