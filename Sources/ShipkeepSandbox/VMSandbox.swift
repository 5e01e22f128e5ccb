import Foundation

/// A throwaway "VM" on this machine: a real sshd on loopback whose deploy key runs `shipkeep-agent serve`
/// as its forced command, a bare git origin, a developer clone to make commits in, and the deployed work
/// tree of a sample bot app with data dirs that the bot keeps writing to.
///
/// Used by the end-to-end tests, `make demo` and the benchmarks, so all three exercise the same setup.
///
/// Sessions get a home of the VM's own (`vm/home`, seeded from /etc/skel like a new account's), as on a real
/// VM: with the account's own home, every "VM" on this machine would run the same login dotfiles, whatever
/// they hold, and share their side effects. Here root's ~/.bashrc runs `pyenv rehash` at every login, under
/// a lock all logins share: 120 ms of CPU per login, and 32 VMs deploying at once queued on that lock.
public final class VMSandbox: @unchecked Sendable {
    // @unchecked: the mutable state (the sshd handle) is only touched by the test or tool that owns the
    // sandbox, one call at a time.

    /// The directory everything lives in.
    public let root: String
    /// The bare origin repository.
    public let origin: String
    /// A developer clone, for making new commits.
    public let developer: String
    /// The deployed work tree the agent manages.
    public let appPath: String
    /// The app's name in `agent.yml`.
    public let appName = "bots"
    /// The data dirs, relative to the work tree.
    public let dataDirs = ["paper_trading_outputs", "logs"]
    /// The agent's config file.
    public let agentConfigPath: String
    /// The app's state dir.
    public let stateDir: String
    /// The agent binary the forced command runs.
    public let agentBinary: String
    /// The HOME of the VM's sessions.
    public let home: String
    /// The sshd.
    public let server: SSHServer

    /// Builds the sandbox under `root` (created; must not exist or be empty). Nothing is started yet.
    ///
    /// - Parameters:
    ///   - listenAddress: Where sshd listens: loopback, or the VM side of a ``NetworkNamespace``.
    ///   - sshdPrefix: Words put before sshd's argv, e.g. ``NetworkNamespace/execPrefix``.
    ///   - user: The account sessions log in as, when sshd runs inside a ``SystemdVM``; the current user's if nil.
    /// - Throws: ``SandboxError`` when a step fails (git, ssh-keygen, files).
    public init(root: String, agentBinary: String? = nil, forcedCommand: Bool = true,
                listenAddress: String = "127.0.0.1", sshdPrefix: [String] = [], user: String? = nil) throws {
        self.root = root
        origin = root + "/origin.git"
        developer = root + "/developer"
        appPath = root + "/vm/srv/bots"
        agentConfigPath = root + "/vm/etc/agent.yml"
        stateDir = root + "/vm/state/bots"
        home = root + "/vm/home"
        self.agentBinary = try agentBinary ?? BuildProducts.path("shipkeep-agent")
        let fm = FileManager.default
        for dir in [root, root + "/vm", root + "/vm/etc", root + "/vm/state"] {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // Explicit, whatever the umask: the agent refuses a config dir that others can write to.
            chmod(dir, 0o755)
        }
        try Self.makeHome(at: home)
        let command = forcedCommand
            ? "'\(self.agentBinary)' serve --config '\(agentConfigPath)'"
            : nil
        server = try SSHServer(directory: root + "/sshd", forcedCommand: command, listenAddress: listenAddress,
                               launchPrefix: sshdPrefix, home: home, user: user)

        try git(["init", "-q", "--bare", "-b", "main", origin])
        try git(["init", "-q", "-b", "main", developer])
        try git(["-C", developer, "remote", "add", "origin", origin])
        try write(developer + "/bot.sh", SampleApp.bot(version: "v1"), executable: true)
        try write(developer + "/restart.sh", SampleApp.restart, executable: true)
        try write(developer + "/check.sh", SampleApp.check, executable: true)
        try write(developer + "/.gitignore", SampleApp.gitignore)
        try write(developer + "/README.md", "# sample bot\n")
        try commitAll("v1: first bot")
        try git(["clone", "-q", origin, appPath])
        for dir in dataDirs { try fm.createDirectory(atPath: appPath + "/" + dir, withIntermediateDirectories: true) }
        try writeAgentConfig()
    }

    /// Writes `agent.yml` for the sample app; tests vary the hooks and the timeouts.
    ///
    /// - Parameter systemd: The value of a `systemd:` service key (`bot.service`, `{unit: bot.service, scope:
    ///   user}`) to restart the bot as a unit instead of with restart.sh.
    /// - Throws: when the file cannot be written.
    public func writeAgentConfig(hooks: [[String]] = [], hookTimeout: Int = 60, healthTimeout: Int = 8,
                                 healthSettle: Int = 0, serviceTimeout: Int = 60, keep: Int = 3,
                                 systemd: String? = nil) throws {
        let hookLines = hooks.isEmpty ? "" : """
                hooks:
                  timeout: \(hookTimeout)
                  after_update:
            \(hooks.map { "          - [" + $0.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }.joined(separator: "\n"))

            """
        let serviceLines = systemd.map { "      - systemd: \($0)" } ?? """
                  - name: bot
                    restart: ["./restart.sh"]
                    check: ["./check.sh"]
            """
        try write(agentConfigPath, """
            apps:
              \(appName):
                path: \(appPath)
                remote: origin
                branch: main
                data: [\(dataDirs.joined(separator: ", "))]
                state: \(stateDir)
                snapshots: { dir: \(root)/vm/state/bots/snapshots, keep: \(keep) }
            \(hookLines)    services:
            \(serviceLines)
                    timeout: \(serviceTimeout)
                health:
                  timeout: \(healthTimeout)
                  fresh: { path: paper_trading_outputs, within: 10 }
                  settle: \(healthSettle == 0 ? "null" : String(healthSettle))

            """)
    }

    /// Starts sshd.
    ///
    /// - Throws: ``SandboxError`` when sshd does not come up.
    public func start() throws {
        try server.start()
    }

    /// Stops the bot and sshd. Idempotent.
    public func stop() {
        stopBot()
        server.stop()
    }

    /// Starts (or restarts) the bot in the deployed tree, as its restart script does.
    ///
    /// - Throws: ``SandboxError`` when the script fails.
    public func startBot() throws {
        let result = try runProcess([appPath + "/restart.sh"], cwd: appPath)
        guard result.status == 0 else { throw SandboxError("restart.sh failed: \(result.stderr)") }
    }

    /// Stops the bot if it runs, and waits until it has exited.
    public func stopBot() {
        guard let text = try? String(contentsOfFile: appPath + "/bot.pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while kill(pid, 0) == 0, Date() < deadline { usleep(10_000) }
    }

    /// The `seq` numbers in the bot's output, in file order.
    public func botSequence() throws -> [Int] {
        let text = try String(contentsOfFile: appPath + "/paper_trading_outputs/signals.jsonl", encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: "\"seq\":") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// Commits `files` (path → content) in the developer clone and pushes to origin. Returns the commit id.
    ///
    /// - Throws: ``SandboxError`` when git fails.
    @discardableResult
    public func commit(_ files: [String: String], message: String, forceAdd: Bool = false) throws -> String {
        for (path, content) in files {
            let full = developer + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try write(full, content, executable: path.hasSuffix(".sh"))
            if forceAdd { try git(["-C", developer, "add", "-f", "--", path]) }
        }
        return try commitAll(message)
    }

    /// Stops tracking `paths` (`git rm --cached`: the developer's copies stay on disk), commits and pushes to origin.
    /// Returns the commit id.
    ///
    /// - Throws: ``SandboxError`` when git fails.
    @discardableResult
    public func untrack(_ paths: [String], message: String) throws -> String {
        try git(["-C", developer, "rm", "-q", "--cached", "--"] + paths)
        return try commitAll(message)
    }

    /// Fills `paper_trading_outputs` with `files` files of `bytesEach` pseudo-random bytes each (plus ten small
    /// logs), like months of a bot's outputs.
    ///
    /// - Throws: when a file cannot be written.
    public func fillData(files: Int, bytesEach: Int) throws {
        // xorshift64*: fast and good enough to make files that do not compress or deduplicate by accident.
        var state = UInt64.random(in: 1...UInt64.max)
        var block = [UInt8](repeating: 0, count: (bytesEach + 7) / 8 * 8)
        for index in 0..<files {
            block.withUnsafeMutableBytes { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for word in 0..<words.count {
                    state ^= state >> 12
                    state ^= state << 25
                    state ^= state >> 27
                    words[word] = state &* 0x2545F4914F6CDD1D
                }
            }
            let path = appPath + "/paper_trading_outputs/history_\(index).jsonl"
            guard FileManager.default.createFile(atPath: path, contents: Data(block[0..<bytesEach])) else {
                throw SandboxError("cannot write \(path)")
            }
        }
        for index in 0..<10 {
            try write(appPath + "/logs/old_\(index).log", String(repeating: "log line \(index)\n", count: 200))
        }
    }

    /// The commit checked out in the deployed tree.
    public func liveCommit() throws -> String {
        try git(["-C", appPath, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Content hashes (`sha256sum`) of every file under the data dirs except the bot's own output and log.
    public func dataChecksums() throws -> [String: String] {
        let result = try runProcess(["sh", "-c", "cd \"$1\" && find paper_trading_outputs logs -type f "
            + "! -name signals.jsonl ! -name bot.log -print0 | sort -z | xargs -0 -r sha256sum", "sh", appPath])
        guard result.status == 0 else { throw SandboxError("sha256sum failed: \(result.stderr)") }
        var sums: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { sums[parts[1].trimmingCharacters(in: .whitespaces)] = String(parts[0]) }
        }
        return sums
    }

    /// Makes the next deploy's worker stop itself on entering `phase` (see the agent's FaultPoint).
    public func pauseNextDeploy(in phase: String) throws {
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        try write(stateDir + "/fault-pause-" + phase, "")
    }

    /// The snapshot directory `agent.yml` names (a test may mount a small filesystem there).
    public var snapshotDir: String { stateDir + "/snapshots" }

    /// This VM as one entry under `targets:` of a shipkeep.yml (indented two spaces), with `extra` keys after
    /// the usual ones and `knownHosts` instead of this VM's own known_hosts file when given.
    public func targetYAML(_ name: String, knownHosts: String? = nil, extra: [(String, String)] = []) -> String {
        let keys = [("host", server.listenAddress), ("port", String(server.port)), ("user", server.user),
                    ("app", appName), ("identity", server.userKeyPath),
                    ("known_hosts", knownHosts ?? server.knownHostsPath)] + extra
        return "  \(name):\n" + keys.map { "    \($0.0): \($0.1)\n" }.joined()
    }

    /// The flags that point `shipkeep` at this sandbox.
    public var controllerArguments: [String] {
        ["--host", server.listenAddress, "--port", String(server.port), "--user", server.user,
         "--identity", server.userKeyPath, "--known-hosts", server.knownHostsPath, "--app", appName]
    }

    @discardableResult
    private func commitAll(_ message: String) throws -> String {
        try git(["-C", developer, "add", "-A"])
        try git(["-C", developer, "-c", "user.name=Sandbox", "-c", "user.email=sandbox@example.invalid",
                 "commit", "-q", "-m", message])
        try git(["-C", developer, "push", "-q", "origin", "HEAD:main"])
        return try git(["-C", developer, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Creates `path` (mode 700) with a copy of /etc/skel's files, where the system has one.
    private static func makeHome(at path: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in (try? fm.contentsOfDirectory(atPath: "/etc/skel")) ?? [] {
            try fm.copyItem(atPath: "/etc/skel/" + name, toPath: path + "/" + name)
        }
    }

    @discardableResult
    private func git(_ arguments: [String]) throws -> String {
        // With a SystemdVM the work tree belongs to its deploy user; git refuses to work in another user's
        // repository unless told it is safe.
        let result = try runProcess(["git", "-c", "safe.directory=*"] + arguments)
        guard result.status == 0 else {
            throw SandboxError("git \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout
    }

    private func write(_ path: String, _ content: String, executable: Bool = false) throws {
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        // Explicit, whatever the umask: the agent refuses an agent.yml that others can write to.
        chmod(path, executable ? 0o755 : 0o644)
    }

    deinit {
        stop()
    }
}
