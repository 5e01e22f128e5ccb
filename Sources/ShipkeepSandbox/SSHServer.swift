import Foundation
import Platform

/// A real OpenSSH sshd on a free loopback port, run from a directory of its own with generated ed25519
/// host and user keys, for end-to-end tests.
///
/// `@unchecked Sendable`: the keys, paths and names are immutable after `init`; the running process, the
/// port and authorized_keys are only read or changed while holding `lock`.
public final class SSHServer: @unchecked Sendable {
    /// The directory holding keys, configuration, log and pid file.
    public let directory: String
    /// The address sshd listens on (`127.0.0.1`, `::1`).
    public let listenAddress: String
    /// The account the generated key logs in as: the current user's, unless `init` named another (the
    /// deploy user of a ``SystemdVM``).
    public let user: String
    /// The generated user private key (no passphrase, mode 600).
    public let userKeyPath: String
    /// The user public key line, "ssh-ed25519 AAAA… comment".
    public let userPublicKeyLine: String
    /// The host public key, "ssh-ed25519 AAAA…".
    public let hostKeyPublicLine: String
    /// The host key fingerprint exactly as `ssh-keygen -lf` prints it, "SHA256:…".
    public let hostKeyFingerprint: String
    /// A known_hosts file with "[address]:port ssh-ed25519 AAAA…", written by `start()`.
    public let knownHostsPath: String
    /// sshd's log (`-E`), at `logLevel`.
    public let logPath: String
    /// sshd's LogLevel: VERBOSE, or DEBUG1 to see forwarding requests it accepts.
    public let logLevel: String
    /// Whether sshd lets clients open `direct-tcpip` channels (AllowTcpForwarding), e.g. as a jump host.
    public let allowTcpForwarding: Bool
    private let configPath: String
    /// sshd's own stdout and stderr, kept apart from the log so the two writers never interleave.
    private let outputPath: String
    private let authorizedKeysPath: String
    private let hostKeyPath: String
    /// Put before sshd's argv, e.g. `ip netns exec NAME` to run it in a network namespace.
    private let launchPrefix: [String]
    /// The HOME sessions get instead of the account's, or nil to keep the account's.
    private let home: String?
    private let lock = NSLock()
    private var process: BackgroundProcess?
    private var currentPort = 0
    private var hostKeyPaths: [String]

    /// The port sshd listens on; 0 until `start()` succeeds.
    public var port: Int {
        lock.withLock { currentPort }
    }

    /// Generates the keys and authorized_keys; `start()` runs sshd.
    /// - Parameters:
    ///   - directory: Created if needed; the keys and files are (re)generated in it.
    ///   - forcedCommand: If non-nil, the user key may only run this command
    ///     (`restrict,command="…"`); if nil, the key's line has no options so any command runs.
    ///   - listenAddress: A numeric address: loopback, or one inside the namespace `launchPrefix` enters.
    ///   - logLevel: sshd's LogLevel; DEBUG1 logs each accepted `direct-tcpip` forward.
    ///   - allowTcpForwarding: sshd's AllowTcpForwarding; false makes a jump host refuse tunnels.
    ///   - launchPrefix: Words put before sshd's argv (`["ip", "netns", "exec", "NAME"]`); they must exec
    ///     sshd in place, so that stopping the process stops sshd.
    ///   - home: If non-nil, sessions run with this HOME (sshd's `SetEnv`), so the login shell reads that
    ///     directory's dotfiles and not the account's own. sshd still starts them in the account's home.
    ///   - user: The account clients log in as, when sshd runs elsewhere (``attach(port:)``); the current user's
    ///     if nil.
    /// - Throws: `SandboxError` if a key cannot be generated or a file written.
    public init(
        directory: String,
        forcedCommand: String?,
        listenAddress: String = "127.0.0.1",
        logLevel: String = "VERBOSE",
        allowTcpForwarding: Bool = true,
        launchPrefix: [String] = [],
        home: String? = nil,
        user: String? = nil
    ) throws {
        self.directory = directory
        self.listenAddress = listenAddress
        self.logLevel = logLevel
        self.allowTcpForwarding = allowTcpForwarding
        self.launchPrefix = launchPrefix
        self.home = home
        configPath = directory + "/sshd_config"
        authorizedKeysPath = directory + "/authorized_keys"
        hostKeyPath = directory + "/ssh_host_ed25519_key"
        hostKeyPaths = [hostKeyPath]
        userKeyPath = directory + "/id_ed25519"
        knownHostsPath = directory + "/known_hosts"
        logPath = directory + "/sshd.log"
        outputPath = directory + "/sshd.out"
        if let user {
            self.user = user
        } else {
            guard let account = getpwuid(geteuid()) else {
                throw SandboxError("cannot look up the current user (uid \(geteuid()))")
            }
            self.user = String(cString: account.pointee.pw_name)
        }

        try FileManager.default.createDirectory(
            atPath: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        try Self.generateKey(at: hostKeyPath, comment: "shipkeep-sandbox-host")
        try Self.generateKey(at: userKeyPath, comment: "shipkeep-sandbox-user")
        hostKeyPublicLine = try Self.publicKeyLine(at: hostKeyPath + ".pub", keepComment: false)
        userPublicKeyLine = try Self.publicKeyLine(at: userKeyPath + ".pub", keepComment: true)
        hostKeyFingerprint = try Self.fingerprint(of: hostKeyPath + ".pub")
        try Self.write("", to: authorizedKeysPath)
        try authorize(publicKeyLine: userPublicKeyLine, forcedCommand: forcedCommand)
    }

    deinit {
        stop()
    }

    /// The running sshd's process id (the listener), or nil when it is not running.
    public var pid: Int32? {
        lock.withLock { process?.isRunning == true ? process?.pid : nil }
    }

    /// Starts sshd on a free port and returns once it answers with an SSH banner (10 s at most). If another
    /// process takes the port first, it retries with a new one.
    ///
    /// - Parameter fixedPort: Listen on this port instead (no retry): to come back on the port clients know
    ///   after a restart, or inside a network namespace, where the host cannot probe for a free port.
    /// - Throws: `SandboxError` with sshd's log if it does not come up.
    public func start(port fixedPort: Int? = nil) throws {
        try lock.withLock {
            guard process == nil else { return }
            if geteuid() == 0 && !FileManager.default.fileExists(atPath: "/run/sshd") {
                // sshd's privilege separation directory; it refuses to start as root without it.
                try FileManager.default.createDirectory(
                    atPath: "/run/sshd",
                    withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o755]
                )
            }
            var failures: [String] = []
            for _ in 0..<(fixedPort == nil ? 5 : 1) {
                let port = try fixedPort ?? LoopbackPort.free(on: listenAddress)
                let config = SSHServerConfig.text(
                    directory: directory,
                    listenAddress: listenAddress,
                    port: port,
                    hostKeys: hostKeyPaths,
                    logLevel: logLevel,
                    allowTcpForwarding: allowTcpForwarding,
                    home: home
                )
                try Self.write(config, to: configPath)
                let logStart = log().utf8.count
                // Absolute path: sshd re-executes itself and refuses to run from a relative one.
                let sshd = try BackgroundProcess(
                    launchPrefix + ["/usr/sbin/sshd", "-D", "-e", "-f", configPath, "-E", logPath],
                    outputPath: outputPath
                )
                if try awaitReady(sshd, port: port) {
                    currentPort = port
                    process = sshd
                    let name = port == 22 ? listenAddress : "[\(listenAddress)]:\(port)"
                    try Self.write("\(name) \(hostKeyPublicLine)\n", to: knownHostsPath)
                    return
                }
                let output = (String(log().utf8.dropFirst(logStart)) ?? "") + Self.read(outputPath)
                guard output.contains("Address already in use") || output.contains("Cannot bind") else {
                    throw SandboxError(
                        "sshd exited with status \(sshd.terminationStatus ?? -1) on port \(port): \(output)"
                    )
                }
                failures.append("port \(port) was taken")
            }
            throw SandboxError("sshd could not bind a free port: \(failures.joined(separator: ", "))")
        }
    }

    /// Records that an sshd started elsewhere with this server's host key and authorized_keys (the one inside a
    /// ``SystemdVM``) listens on `port`, and writes known_hosts for it, as `start()` does for its own.
    ///
    /// - Throws: `SandboxError` if known_hosts cannot be written.
    public func attach(port: Int) throws {
        try lock.withLock {
            currentPort = port
            let name = port == 22 ? listenAddress : "[\(listenAddress)]:\(port)"
            try Self.write("\(name) \(hostKeyPublicLine)\n", to: knownHostsPath)
        }
    }

    /// Stops sshd (SIGTERM, then SIGKILL after 5 s). Idempotent; also done on deinit. Sessions already
    /// open end when their clients disconnect.
    public func stop() {
        let running = lock.withLock {
            defer { process = nil }
            return process
        }
        running?.stop()
    }

    /// Gives sshd another host key, so it offers several types; call before `start()`.
    /// - Parameter type: An `ssh-keygen -t` type such as "ecdsa" or "rsa".
    /// - Returns: The new key's public line ("ecdsa-sha2-nistp256 AAAA…") and SHA256 fingerprint.
    /// - Throws: `SandboxError` if the key cannot be generated.
    public func addHostKey(type: String) throws -> (publicLine: String, fingerprint: String) {
        let path = directory + "/ssh_host_\(type)_key"
        try Self.generateKey(at: path, type: type, comment: "shipkeep-sandbox-host")
        let line = try Self.publicKeyLine(at: path + ".pub", keepComment: false)
        let fingerprint = try Self.fingerprint(of: path + ".pub")
        lock.withLock { hostKeyPaths.append(path) }
        return (line, fingerprint)
    }

    /// Sends `signal` to every process sshd started for a connection (not to the listener), to make a host
    /// that dies (SIGKILL) or freezes (SIGSTOP) under an open session.
    /// - Returns: How many processes were signalled.
    @discardableResult
    public func signalSessions(_ signal: Int32) -> Int {
        guard let text = try? String(contentsOfFile: directory + "/sshd.pid", encoding: .utf8),
            let listener = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return 0 }
        var parents: [Int32: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After "pid (comm)" come the state and the parent pid; comm may contain spaces and parentheses.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { parents[pid] = parent }
        }
        var descendants: Set<Int32> = []
        var frontier: Set<Int32> = [listener]
        while !frontier.isEmpty {
            let children = Set(parents.filter { frontier.contains($0.value) }.keys).subtracting(descendants)
            descendants.formUnion(children)
            frontier = children
        }
        for pid in descendants { kill(pid, signal) }
        return descendants.count
    }

    /// Deletes the directory and everything in it. Call after `stop()`.
    public func removeDirectory() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// This server as a `Host` block of an ssh_config file under `alias`, with `extra` options (e.g.
    /// `ProxyJump gate`) after the usual ones.
    public func sshConfigHost(_ alias: String, extra: [String] = []) -> String {
        let options = ["HostName \(listenAddress)", "Port \(port)", "User \(user)", "IdentityFile \(userKeyPath)",
                       "UserKnownHostsFile \(knownHostsPath)"] + extra
        return "Host \(alias)\n" + options.map { "    \($0)\n" }.joined()
    }

    /// The contents of sshd's log, e.g. to assert that no authentication was attempted.
    public func log() -> String {
        Self.read(logPath)
    }

    /// Adds a line to authorized_keys; sshd reads the file on every login, so it applies at once.
    /// - Parameters:
    ///   - publicKeyLine: "ssh-ed25519 AAAA… comment".
    ///   - forcedCommand: If non-nil, the key may only run this command.
    /// - Throws: `SandboxError` if the file cannot be written.
    public func authorize(publicKeyLine: String, forcedCommand: String?) throws {
        var line = publicKeyLine.trimmingCharacters(in: .whitespacesAndNewlines)
        if let forcedCommand {
            // sshd unescapes only \" inside command="…"; any other backslash is taken literally, so one at the
            // very end would swallow the closing quote.
            guard !forcedCommand.hasSuffix("\\"), !forcedCommand.contains("\n") else {
                throw SandboxError("a forced command cannot end with a backslash or span lines: \(forcedCommand)")
            }
            let quoted = forcedCommand.replacingOccurrences(of: "\"", with: "\\\"")
            line = "restrict,command=\"\(quoted)\" " + line
        }
        try lock.withLock {
            try Self.write(Self.read(authorizedKeysPath) + line + "\n", to: authorizedKeysPath)
        }
    }

    /// Appends an authorized_keys line exactly as given, options and all (e.g. the one `shipkeep install`
    /// prints).
    /// - Throws: `SandboxError` if the file cannot be written.
    public func appendAuthorizedKeysLine(_ line: String) throws {
        try lock.withLock {
            try Self.write(Self.read(authorizedKeysPath) + line.trimmingCharacters(in: .whitespacesAndNewlines) + "\n",
                           to: authorizedKeysPath)
        }
    }

    // MARK: - Private

    /// Polls until sshd answers on `port`, or exits.
    /// - Returns: true when ready, false when sshd exited (its log says why).
    private func awaitReady(_ sshd: BackgroundProcess, port: Int) throws -> Bool {
        let deadline = Date(timeIntervalSinceNow: 10)
        while Date() < deadline {
            guard sshd.isRunning else { return false }
            if LoopbackPort.answersSSH(address: listenAddress, port: port, timeout: 1) {
                return true
            }
            // Between probes; readiness itself is the banner, not the passage of time.
            usleep(20_000)
        }
        sshd.stop()
        throw SandboxError(
            "sshd did not answer on \(listenAddress) port \(port) within 10 s; log: \(log())\(Self.read(outputPath))"
        )
    }

    private static func generateKey(at path: String, type: String = "ed25519", comment: String) throws {
        // ssh-keygen asks before overwriting; regenerate from scratch instead.
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".pub")
        let result = try runProcess(["ssh-keygen", "-q", "-t", type, "-N", "", "-C", comment, "-f", path])
        guard result.status == 0 else {
            throw SandboxError("ssh-keygen failed for \(path) (status \(result.status)): \(result.stderr)")
        }
        chmod(path, 0o600)
    }

    private static func publicKeyLine(at path: String, keepComment: Bool) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SandboxError("cannot read \(path)")
        }
        let fields = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard fields.count >= 2 else { throw SandboxError("\(path) is not a public key") }
        return fields.prefix(keepComment ? 3 : 2).joined(separator: " ")
    }

    private static func fingerprint(of publicKeyPath: String) throws -> String {
        let result = try runProcess(["ssh-keygen", "-l", "-E", "sha256", "-f", publicKeyPath])
        let fields = result.stdout.split(separator: " ")
        guard result.status == 0, fields.count >= 2, fields[1].hasPrefix("SHA256:") else {
            throw SandboxError("ssh-keygen -lf \(publicKeyPath) failed: \(result.stdout)\(result.stderr)")
        }
        return String(fields[1])
    }

    private static func read(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }

    /// Writes `text` with mode 600, as sshd expects for keys and authorized_keys.
    static func write(_ text: String, to path: String) throws {
        guard
            FileManager.default.createFile(
                atPath: path,
                contents: Data(text.utf8),
                attributes: [.posixPermissions: 0o600]
            )
        else {
            throw SandboxError("cannot write \(path)")
        }
    }
}
