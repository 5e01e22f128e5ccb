import Foundation
import Shared

/// Carries out an ``InstallPlan`` over one SSH connection: SFTP for the files, an exec channel to check that the
/// uploaded agent runs and reads its agent.yml.
struct Installer {
    let plan: InstallPlan
    let terminal: Terminal
    let quiet: Bool
    let verbose: Bool

    /// What was done, for the report and `--json`.
    struct Outcome: Encodable {
        var agentPath: String
        var agentBytes: Int64
        var agentStatic: Bool
        var configPath: String
        /// `written`, `replaced` or `kept`.
        var config: String
        /// Where the replaced agent.yml was copied (`--replace`).
        var configBackup: String?
        var agentVersion: String
        var apps: [String]
        var authorizedKeysLine: String
        /// The authorized_keys file the line went into, when a deploy key was given.
        var authorizedKeysPath: String?
        /// `added`, `kept` (it was there) or `updated`, when a deploy key was given.
        var authorizedKeys: AuthorizedKeys.Change?
        /// The sudoers rule a deploy user who is not root needs for the system-scope units of agent.yml, if any.
        var sudoersLine: String?
        /// What `--snapshot-timer` or `--remove-snapshot-timer` did.
        var snapshotTimers: SnapshotTimerOutcome?

        /// The human report: what changed and the line to put in authorized_keys (and sudoers). The version and
        /// the apps are what the uploaded agent answered, made inert.
        var report: String {
            let apps = ControlCharacters.escaped(apps.isEmpty ? "none" : apps.joined(separator: ", "))
            let version = ControlCharacters.escaped(agentVersion)
            let backup = configBackup.map { " (the old one kept as \($0))" } ?? ""
            let keys: String
            if let authorizedKeys, let authorizedKeysPath {
                let how = switch authorizedKeys {
                case .added: "added to"
                case .kept: "already in"
                case .updated: "updated in"
                }
                keys = "the deploy key's line is \(how) \(authorizedKeysPath) (the key can run only the agent):"
            } else {
                keys = "add this line to ~/.ssh/authorized_keys on the VM for the deploy key (it can then run only "
                    + "the agent), or pass --deploy-key KEY.pub to have it added:"
            }
            var text = """
                installed shipkeep-agent \(version) at \(agentPath) (\(ByteCount.format(agentBytes))\
                \(agentStatic ? ", Swift runtime linked statically" : ""))
                agent.yml \(config) at \(configPath)\(backup); apps: \(apps)
                \(keys)
                \(authorizedKeysLine)
                """
            if let sudoersLine {
                text += """

                    the agent restarts system units through sudo: add this line to /etc/sudoers.d/shipkeep on the VM \
                    as root (visudo -f /etc/sudoers.d/shipkeep), or make them user units (scope: user):
                    \(sudoersLine)
                    and, for their journal in the deploy's output, let the deploy user read the system journal (as \
                    root): \(SudoersRule.journalCommand(user: sudoersLine.prefix { $0 != " " }))
                    """
            }
            if let snapshotTimers { text += "\n" + snapshotTimers.report }
            return text
        }
    }

    /// Connects, uploads, checks.
    ///
    /// - Throws: ``ControllerError``: `.local` when the VM has no agent.yml and none was given, or the uploaded
    ///   agent does not answer; connection kinds otherwise.
    func run() throws(ControllerError) -> Outcome {
        if !plan.agentIsStatic {
            Terminal.error("shipkeep: warning: \(plan.agentBinary) needs the Swift runtime on the VM "
                + "(libswiftCore.so); `make release` builds dist/shipkeep-agent with it linked in")
        }
        step("connecting to \(plan.target.display)")
        let connection: SSHConnection
        do {
            connection = try SSHConnection.connect(plan.target.ssh)
        } catch {
            throw ControllerError(error)
        }
        defer { connection.disconnect() }
        do {
            let sftp = try connection.sftp()
            let home = try sftp.realpath(".")
            let agentPath = plan.remotePath ?? home + "/.local/bin/shipkeep-agent"
            let configPath = plan.remoteConfig ?? home + "/.config/shipkeep/agent.yml"

            // Decide about agent.yml before changing anything, so a missing one fails with nothing uploaded.
            let configExists = try sftp.stat(configPath) != nil
            if !configExists && plan.localConfig == nil {
                throw ControllerError(.local, "the VM has no \(configPath) and no agent.yml was given: write one "
                    + "with `shipkeep init …`, then pass --agent-yml agent.yml")
            }

            try sftp.makeDirectories(Self.directory(of: agentPath), mode: 0o755)
            let size = (try? FileManager.default.attributesOfItem(atPath: plan.agentBinary)[.size] as? Int64) ?? 0
            step("uploading \(plan.agentBinary) (\(ByteCount.format(size))) to \(agentPath)")
            let started = Date()
            var lastDrawn = Date.distantPast
            try sftp.upload(localPath: plan.agentBinary, to: agentPath, mode: 0o755) { done, total in
                guard terminal.interactive, !quiet, Date().timeIntervalSince(lastDrawn) > 0.1 || done == total else {
                    return
                }
                lastDrawn = Date()
                var bar = ProgressBar(phase: "upload", started: started)
                bar.bytes = (done, total)
                FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + bar.line(now: Date())).utf8))
            }
            if terminal.interactive && !quiet { FileHandle.standardOutput.write(Data("\r\u{1B}[2K".utf8)) }

            var configState = "kept"
            var backup: String?
            if !configExists, let local = plan.localConfig {
                try sftp.makeDirectories(Self.directory(of: configPath), mode: 0o700)
                // Exclusive create: an agent.yml that appeared meanwhile is still never overwritten.
                configState = try sftp.createExclusively(data: Array(local.text.utf8), to: configPath, mode: 0o600)
                    ? "written" : "kept"
                step("agent.yml \(configState) at \(configPath)")
            } else if plan.replaceConfig, let local = plan.localConfig {
                step("checking \(local.path) with the new agent, then replacing \(configPath)")
                backup = try replaceConfig(local.text, at: configPath, agent: agentPath, connection: connection,
                                           sftp: sftp)
                configState = "replaced"
            }

            step("checking that the new agent answers")
            let hello = try greet(connection, agent: agentPath, config: configPath)
            warnAboutUnclonableApps(sftp: sftp, configPath: configPath)
            let line = InstallPlan.authorizedKeysLine(agent: agentPath, config: configPath, deployKey: plan.deployKey)
            var keysPath: String?
            var keys: AuthorizedKeys.Change?
            if plan.deployKey != nil {
                let path = plan.authorizedKeys.map { $0.hasPrefix("~/") ? home + $0.dropFirst(1) : $0 }
                    ?? home + "/.ssh/authorized_keys"
                keys = try authorize(line, in: path, sftp: sftp)
                keysPath = path
                step("deploy key \(keys?.rawValue ?? "") in \(path)")
            }
            let timers = try plan.snapshotTimer.map { request in
                try snapshotTimers(request, apps: hello.apps, home: home, agentPath: agentPath,
                                   configPath: configPath, connection: connection, sftp: sftp)
            }
            return Outcome(agentPath: agentPath, agentBytes: size, agentStatic: plan.agentIsStatic,
                           configPath: configPath, config: configState, configBackup: backup,
                           agentVersion: hello.agentVersion, apps: hello.apps, authorizedKeysLine: line,
                           authorizedKeysPath: keysPath, authorizedKeys: keys,
                           sudoersLine: try sudoersLine(sftp: sftp, configPath: configPath), snapshotTimers: timers)
        } catch let error as SSHError {
            throw ControllerError(error)
        } catch let error as ControllerError {
            throw error
        } catch {
            throw ControllerError(.local, "\(error)")
        }
    }

    /// The sudoers rule for the system-scope units of the VM's agent.yml, when the login user is not root and there
    /// are any; nil otherwise (or when agent.yml cannot be read: the agent itself names the rule when sudo refuses).
    private func sudoersLine(sftp: SFTPClient, configPath: String) throws -> String? {
        let user = plan.target.ssh.user
        guard user != "root",
              let bytes = try? sftp.readFile(configPath, limit: 1 << 20),
              let config = try? AgentConfig.parse(String(decoding: bytes, as: UTF8.self), file: configPath)
        else { return nil }
        let units = config.apps.flatMap { app in
            app.services.compactMap { service -> String? in
                guard case .systemd(let unit, .system, _) = service else { return nil }
                return unit
            }
        }
        return units.isEmpty ? nil : SudoersRule.line(user: user, units: units)
    }

    /// Runs the uploaded agent as the forced command will, and greets it.
    private func greet(_ connection: SSHConnection, agent: String, config: String) throws(ControllerError)
        -> Event.HelloReply {
        let command = [agent, "serve", "--config", config].map(ShellQuote.quote).joined(separator: " ")
        let channel: SSHChannel
        do {
            channel = try connection.exec(command)
        } catch {
            throw ControllerError(error)
        }
        var diagnostics: [String] = []
        let session = AgentSession(channel: channel, onDiagnostic: { diagnostics.append($0) })
        do {
            let reply = try session.hello()
            _ = try? session.close()
            return reply
        } catch {
            let detail = diagnostics.last.map { ": \($0)" } ?? ""
            throw ControllerError(.local, "the uploaded agent did not answer (\(error.message))\(detail)")
        }
    }

    func step(_ text: String) {
        if !quiet { print(verbose ? "shipkeep: " + text : text) }
    }

    private static func directory(of path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        return directory.isEmpty ? "." : directory
    }
}
