import Foundation
import Shared

/// The jump host: which setting applies, how it is parsed, and how it resolves through ssh config.
extension TargetOptions {
    /// The jump host setting that applies, by precedence: `--jump`, SHIPKEEP_JUMP, shipkeep.yml `jump`, then
    /// ssh config's ProxyJump for the target. The first one set wins, so `none` at a higher level turns off
    /// a jump host configured lower down.
    /// - Returns: The raw setting, or nil when there is none or it is `none`.
    static func jumpSetting(flag: String?, env: [String: String], project: String?, proxyJump: String?) -> String? {
        guard let value = flag ?? env["SHIPKEEP_JUMP"] ?? project ?? proxyJump else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty || trimmed.lowercased() == "none" ? nil : trimmed
    }

    /// Parses a jump host as ProxyJump writes it: `[user@]host[:port]` or `ssh://[user@]host[:port]`.
    /// - Throws: ``ControllerError`` `.usage` for a list of several hops or a malformed host.
    static func parseJump(_ setting: String) throws(ControllerError) -> TargetAddress {
        let hops = setting.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard hops.count == 1, let hop = hops.first, !hop.isEmpty else {
            throw ControllerError(.usage, "jump host list \"\(setting)\" has \(hops.count) hops; shipkeep goes "
                + "through one jump host only: use the last one, reachable from where shipkeep runs")
        }
        do {
            return try TargetAddress.parse(hop)
        } catch {
            throw ControllerError(.usage, "jump host \"\(hop)\" is not [USER@]HOST[:PORT]")
        }
    }

    /// The jump host's connection options, or nil when the target is reached directly.
    ///
    /// The jump host is resolved through ssh config as OpenSSH does (alias, HostName, User, Port,
    /// IdentityFile); user and port written in the setting win. Its host key is checked with the
    /// explicitly given known_hosts file, else its own UserKnownHostsFile or the defaults, or with
    /// `--jump-fingerprint`. It is offered the target's credentials plus its own IdentityFiles.
    /// - Throws: ``ControllerError`` `.usage` for a bad setting or more than one hop, `.hostKey` when there is
    ///   nothing to verify its key with.
    func jumpOptions(
        _ env: [String: String],
        project: ProjectConfig.Target?,
        proxyJump: String?,
        sshConfigFile: String,
        localUser: String,
        knownHosts explicitKnownHosts: String?,
        targetIdentityFiles: [String]
    ) throws(ControllerError) -> SSHConnectOptions? {
        guard let setting = Self.jumpSetting(flag: jump, env: env, project: project?.jump, proxyJump: proxyJump) else {
            return nil
        }
        let address = try Self.parseJump(setting)
        guard let alias = address.host else { return nil }
        let ssh = try SSHConfig(file: SSHConfig.expandTilde(sshConfigFile)).resolve(alias, localUser: localUser)
        if let further = ssh.proxyJump, let hop = try? Self.parseJump(further), hop.host != alias {
            throw ControllerError(.usage, "jump host \(alias) is itself reached through \(further) (ProxyJump in "
                + "\(sshConfigFile)); shipkeep goes through one jump host only")
        }
        let hostName = ssh.hostName ?? alias
        let port = address.port ?? ssh.port ?? 22
        guard (1...65535).contains(port) else {
            throw ControllerError(.usage, "jump host port \(port) is out of range (1-65535)")
        }
        let label = "jump host \(hostName)"
        let policy: HostKeyPolicy
        if let pinned = jumpFingerprint ?? env["SHIPKEEP_JUMP_FINGERPRINT"] ?? project?.jumpFingerprint {
            policy = try Self.pin(pinned, flag: "--jump-fingerprint")
        } else {
            let files = try Self.knownHostsFiles(
                explicit: explicitKnownHosts,
                ssh: ssh,
                for: label,
                pinFlag: "--jump-fingerprint"
            )
            policy = .knownHosts(paths: files)
        }
        return SSHConnectOptions(
            host: hostName,
            port: port,
            user: address.user ?? ssh.user ?? localUser,
            hostKeyPolicy: policy,
            credentials: try credentials(env, project: project, identityFiles: ssh.identityFiles + targetIdentityFiles,
                                        identitiesOnly: ssh.identitiesOnly, notes: false)
        )
    }
}
