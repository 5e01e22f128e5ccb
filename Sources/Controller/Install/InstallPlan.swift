import Foundation
import Shared

/// What `shipkeep install` will put where, settled on this machine before connecting: a missing or unusable
/// local file fails before anything on the VM changes.
struct InstallPlan {
    var target: ResolvedTarget
    /// The local agent program.
    var agentBinary: String
    /// Whether the agent carries the Swift runtime (a static build) rather than needing it on the VM.
    var agentIsStatic: Bool
    /// The local agent.yml to write on the VM when it has none.
    var localConfig: (path: String, text: String)?
    /// The deploy key's public key line, for a complete authorized_keys line.
    var deployKey: String?
    /// Remote paths as given; nil means the default under the remote home.
    var remotePath: String?
    var remoteConfig: String?
    /// Where the deploy key's line goes (`--authorized-keys`); nil means `~/.ssh/authorized_keys` on the VM.
    var authorizedKeys: String?
    /// `--replace`: replace the VM's agent.yml with `localConfig` (after the new agent checked it).
    var replaceConfig = false
    /// `--snapshot-timer` / `--remove-snapshot-timer`: the timers to write or remove once the agent answers.
    var snapshotTimer: SnapshotTimerRequest?

    init(target: ResolvedTarget, agentBinary: String, localConfig: (path: String, text: String)?, deployKey: String?,
         remotePath: String?, remoteConfig: String?, authorizedKeys: String? = nil,
         replaceConfig: Bool = false, snapshotTimer: SnapshotTimerRequest? = nil) throws(ControllerError) {
        self.target = target
        self.agentBinary = agentBinary
        self.agentIsStatic = !Self.linksSwiftRuntime(agentBinary)
        self.localConfig = localConfig
        self.deployKey = deployKey
        for path in [remotePath, remoteConfig, authorizedKeys].compactMap({ $0 })
        where path.isEmpty || path.contains("\n") {
            throw ControllerError(.usage, "the remote path \"\(path)\" is empty or spans lines")
        }
        if replaceConfig && localConfig == nil {
            throw ControllerError(.usage, "--replace replaces the VM's agent.yml with the one --agent-yml names; "
                + "name it")
        }
        self.remotePath = remotePath
        self.remoteConfig = remoteConfig
        self.authorizedKeys = authorizedKeys
        self.replaceConfig = replaceConfig
        if case .install(let calendar, _) = snapshotTimer { try SnapshotTimerUnits.checkCalendar(calendar) }
        self.snapshotTimer = snapshotTimer
    }

    /// The agent to upload: the one named, else `shipkeep-agent` next to this program.
    ///
    /// - Throws: ``ControllerError`` of kind `.local` saying how to get one.
    static func locateAgent(_ named: String?) throws(ControllerError) -> String {
        let candidate = named.map(SSHConfig.expandTilde)
            ?? URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]).resolvingSymlinksInPath()
                .deletingLastPathComponent().appendingPathComponent("shipkeep-agent").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw ControllerError(.local, "no shipkeep-agent at \(candidate): build one with `make release` "
                + "(dist/shipkeep-agent) and pass --agent-binary FILE")
        }
        let handle = FileHandle(forReadingAtPath: candidate)
        defer { try? handle?.close() }
        guard let magic = try? handle?.read(upToCount: 4), magic == Data([0x7F, 0x45, 0x4C, 0x46]) else {
            throw ControllerError(.local, "\(candidate) is not a Linux program (no ELF header); pass the "
                + "shipkeep-agent built for the VM with --agent-binary")
        }
        return candidate
    }

    /// The agent.yml to use if the VM has none: the one named (which must exist), else ./agent.yml if present.
    ///
    /// - Throws: ``ControllerError`` when the named file cannot be read or does not parse.
    static func localConfig(_ named: String?) throws(ControllerError) -> (path: String, text: String)? {
        let path = named.map(SSHConfig.expandTilde) ?? "agent.yml"
        guard FileManager.default.fileExists(atPath: path) else {
            if named != nil { throw ControllerError(.local, "cannot read \(path): no such file") }
            return nil
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ControllerError(.local, "cannot read \(path) as UTF-8 text")
        }
        do {
            _ = try AgentConfig.parse(text, file: path)
        } catch {
            throw ControllerError(.local, "\(error)")
        }
        return (path, text)
    }

    /// One OpenSSH public key line from `file`.
    ///
    /// - Throws: ``ControllerError`` of kind `.usage` when it is not one.
    static func readPublicKey(_ file: String) throws(ControllerError) -> String {
        let path = SSHConfig.expandTilde(file)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ControllerError(.usage, "cannot read the deploy key \(path)")
        }
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let fields = lines.first?.split(separator: " ") ?? []
        guard lines.count == 1, fields.count >= 2, fields[0].hasPrefix("ssh-") || fields[0].hasPrefix("ecdsa-"),
              !text.contains("PRIVATE KEY") else {
            throw ControllerError(.usage, "\(path) is not an OpenSSH public key line (pass the .pub file, "
                + "never the private key)")
        }
        return lines[0]
    }

    /// Whether `path` needs the Swift runtime as a shared library (`libswiftCore.so`) on the VM.
    static func linksSwiftRuntime(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let needle = Data("libswiftCore.so".utf8)
        var carry = Data()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            let window = carry + chunk
            if window.range(of: needle) != nil { return true }
            carry = window.suffix(needle.count - 1)
        }
        return false
    }

    /// The authorized_keys line that lets `deployKey` run only the agent: `restrict` (no shell, no
    /// forwarding, no pty) and a forced command; both paths are shell-quoted for the shell sshd runs it with.
    static func authorizedKeysLine(agent: String, config: String, deployKey: String?) -> String {
        let command = [agent, "serve", "--config", config].map(ShellQuote.quote).joined(separator: " ")
        // sshd unescapes only \" inside command="…"; every other backslash is kept as it is.
        let escaped = command.replacingOccurrences(of: "\"", with: "\\\"")
        return "restrict,command=\"\(escaped)\" " + (deployKey ?? "<the deploy key's public key: ssh-ed25519 AAAA… ci>")
    }
}
