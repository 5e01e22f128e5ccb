import Foundation
import Shared

/// The steps of `install` that change files the VM already has: the deploy key's authorized_keys line and a
/// replaced agent.yml. Both go through SFTP with temporary files renamed into place, so a reader (sshd, the
/// agent) sees the old file or the new one, never half of one.
extension Installer {
    /// Puts `line` into `path` (creating it, and its directory 0700, if missing), keeping every other line.
    /// The file is written whole to a temporary name, 0600, fsynced, and renamed over the old one.
    ///
    /// - Throws: ``ControllerError`` `.local` when the key is there without a forced command; SSH errors.
    func authorize(_ line: String, in path: String, sftp: SFTPClient) throws -> AuthorizedKeys.Change {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            let existed = try sftp.stat(directory) != nil
            try sftp.makeDirectories(directory, mode: 0o700)
            // sshd's StrictModes refuses a ~/.ssh that others can write; a new one is made 0700 above.
            if !existed { try sftp.setPermissions(directory, 0o700) }
        }
        let old = try sftp.stat(path) == nil ? ""
            : String(decoding: try sftp.readFile(path, limit: 1 << 20), as: UTF8.self)
        let updated: (text: String, change: AuthorizedKeys.Change)
        do {
            updated = try AuthorizedKeys(text: old).adding(line)
        } catch {
            throw ControllerError(.local, "the deploy key is already in \(path) (line \(error.line)) without a forced "
                + "command, so it may be a login key; replacing that line would take its shell away. Use a separate "
                + "key for deploys, or remove that line first")
        }
        if updated.change != .kept {
            try sftp.upload(data: Array(updated.text.utf8), to: path, mode: 0o600)
        } else if try sftp.stat(path)?.permissions.map({ $0 & 0o077 != 0 }) == true {
            try sftp.setPermissions(path, 0o600)
        }
        return updated.change
    }

    /// Replaces the VM's agent.yml at `path` with `text` once `agent` has checked it: the new text goes to a
    /// temporary name beside it, `agent check --config TEMP` must pass, the old file is copied to
    /// `PATH.TIMESTAMP.bak`, and the temporary file is renamed over the old one.
    ///
    /// - Returns: The backup's path.
    /// - Throws: ``ControllerError`` `.local` with the agent's words when it refuses the file (the old one is
    ///   untouched and the temporary one removed); SSH errors.
    func replaceConfig(_ text: String, at path: String, agent: String, connection: SSHConnection,
                       sftp: SFTPClient) throws -> String {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let staged = (directory.isEmpty ? "" : directory + "/") + "." + name + ".shipkeep-new-" + suffix
        try sftp.upload(data: Array(text.utf8), to: staged, mode: 0o600)
        do {
            let check = try runRemote([agent, "check", "--config", staged], connection: connection)
            guard check.status == 0 else {
                let said = check.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(check.status ?? -1)"
                throw ControllerError(.local, "the agent refused the new agent.yml, so \(path) was left as it was: "
                    + said.replacingOccurrences(of: staged, with: plan.localConfig?.path ?? staged))
            }
            let stamp = Self.timestamp(Date())
            let backup = path + "." + stamp + ".bak"
            try sftp.upload(data: try sftp.readFile(path, limit: 1 << 20), to: backup, mode: 0o600)
            try sftp.rename(staged, to: path, replacing: true)
            return backup
        } catch {
            try? sftp.remove(staged)
            throw error
        }
    }

    /// Runs `argv` (shell-quoted for the login shell sshd runs it with) and collects its output and status.
    func runRemote(_ argv: [String], connection: SSHConnection) throws
        -> (status: Int32?, stdout: String, stderr: String) {
        let channel = try connection.exec(argv.map(ShellQuote.quote).joined(separator: " "))
        try channel.sendEOF()
        var stdout: [UInt8] = [], stderr: [UInt8] = []
        var finished = false
        while !finished {
            for event in try channel.read(timeout: plan.target.ssh.readTimeout) {
                switch event {
                case .stdout(let bytes): stdout += bytes.prefix(max(0, 65_536 - stdout.count))
                case .stderr(let bytes): stderr += bytes.prefix(max(0, 65_536 - stderr.count))
                case .eof: finished = true
                }
            }
        }
        let exit = try channel.waitExit()
        return (exit.status, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    /// Warns about each app of the VM's agent.yml whose work tree does not exist there and that names no
    /// `remote_url`: its first deploy would refuse.
    func warnAboutUnclonableApps(sftp: SFTPClient, configPath: String) {
        guard let bytes = try? sftp.readFile(configPath, limit: 1 << 20),
              let config = try? AgentConfig.parse(String(decoding: bytes, as: UTF8.self), file: configPath)
        else { return }
        for app in config.apps where app.remoteURL == nil {
            // Only a tree known to be missing: one that cannot be checked (no permission) is not reported.
            let missing: Bool
            do {
                missing = try sftp.stat(app.path) == nil
            } catch {
                continue
            }
            guard missing else { continue }
            Terminal.error("shipkeep: warning: app \(app.name): \(app.path) does not exist on the VM and agent.yml "
                + "names no remote_url, so its first deploy will refuse; add remote_url: (the repository's URL; "
                + "`shipkeep init --remote-url URL` writes it) and run install again with --replace")
        }
    }

    /// `20261201T110638Z`, for backup names.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}

