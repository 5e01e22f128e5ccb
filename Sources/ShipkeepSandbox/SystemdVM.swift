import Foundation
import Platform
import Shared

/// A VM with systemd as PID 1: systemd-nspawn booting the cached ``DebianTree`` in a network namespace of its own
/// (sshd on port 22 at 10.77.N.2), with the sample bot as `bot.service` run by the non-root `deploy` user, whose
/// forced-command key runs the static agent. The agent gets there as a user's would: the first boot runs
/// `shipkeep install` with the deploy user's own login key (``accountKey``), which uploads it over SFTP to
/// ``installedAgent``. Root only.
///
/// The app's layout is a ``VMSandbox`` under `root` (origin, developer clone, work tree, agent.yml, state and
/// snapshots), bound read-write into the VM at the same path: what must survive reboots and power cuts lives
/// there, and tests read it from the host. Everything else the VM writes goes to `--volatile=overlay` and is gone
/// at the next boot, as a VM's tmpfs would be.
///
/// Each VM gets cgroups of its own (`shipkeep-vm-NAME`: two containers started from one cgroup share it, and
/// stopping a unit in one kills processes in the other), a claim file under `/run/shipkeep-vm` naming its owner,
/// and `stop()` removes them with the veth and nspawn's propagate dir. An owner that dies without `stop()` (a
/// killed test run, a SIGKILLed `shipkeep-sandbox run --vm`) is noticed by its ``VMReaper`` at once, which removes
/// the VM; failing that, the next `SystemdVM` created on the machine does.
public final class SystemdVM: @unchecked Sendable {
    // @unchecked: the nspawn handle and the leader pid are only touched by the test or tool that owns the VM,
    // one call at a time.

    /// Which systemd manager runs `bot.service`.
    public enum Scope: String, Sendable {
        /// The deploy user's own manager (`systemctl --user`), with lingering on.
        case user
        /// The system manager; the deploy user restarts it through sudo.
        case system
    }

    /// The app: git origin, developer clone, work tree, agent.yml, state.
    public let sandbox: VMSandbox
    /// Which manager runs the bot.
    public let scope: Scope
    /// The machine name (≤ 12 characters: the veth is `ve-NAME`).
    public let name: String
    /// The VM's address, where its sshd listens on port 22.
    public let address: String
    /// The host's end of the veth.
    public let hostAddress: String
    /// The account the deploy key logs in as.
    public var user: String { DebianTree.deployUser }
    /// The static agent on the host, which `shipkeep install` uploads.
    public let agentBinary: String
    /// Where `shipkeep install` put the agent inside the VM (under `root`, so it survives reboots and power cuts
    /// as a VM's disk would); the deploy key's forced command runs it.
    public var installedAgent: String { sandbox.agentBinary }
    /// The deploy user's own login key (a shell, no forced command), as an admin has: `shipkeep install` uses it.
    public let accountKey: String
    /// What `shipkeep install` printed at the first boot (the authorized_keys line, the sudoers rule).
    public private(set) var installOutput = ""
    /// The unit file the VM runs the bot with; rewrite it in place (it is bound into the VM) and `daemon-reload`.
    public let unitFile: String
    /// nspawn's console output, for diagnostics.
    public let consoleLog: String
    private let tree: String
    private let subnet: Int
    private let bootDir: String
    private var nspawn: BackgroundProcess?
    private var leader: pid_t = 0
    private var reaper: VMReaper?

    static let claims = "/run/shipkeep-vm"

    /// Words that run a command inside the VM as root: `nsenter -t LEADER -a --`. The leader changes at every
    /// boot, so take the prefix again after a reboot or power cut.
    public var execPrefix: [String] { ["nsenter", "-t", String(leader), "-a", "--"] }

    /// Builds (or reuses) the tree, lays out the app under `root` and claims a subnet; `boot()` starts it.
    ///
    /// - Parameters:
    ///   - root: A new or empty directory; it is bound into the VM at the same path.
    ///   - scope: Which manager runs `bot.service`.
    ///   - startLimit: Keep systemd's default start limit in the unit (for the one test of it).
    ///   - agentBinary: The static agent; ``BuildProducts/staticAgent()`` if nil.
    /// - Throws: ``SandboxError`` when root, the tools or the agent are missing, or a step fails.
    public init(root: String, scope: Scope, startLimit: Bool = false, agentBinary: String? = nil) throws {
        self.agentBinary = try agentBinary ?? BuildProducts.staticAgent()
        self.scope = scope
        tree = try DebianTree.prepare()
        Self.removeLeftovers()
        subnet = try Self.claimSubnet()
        name = "skvm\(subnet)"
        address = "10.77.\(subnet).2"
        hostAddress = "10.77.\(subnet).1"
        bootDir = root + "/vm-boot"
        consoleLog = bootDir + "/console.log"
        unitFile = bootDir + "/bot.service"
        accountKey = bootDir + "/account_ed25519"
        do {
            reaper = try VMReaper(subnet: subnet)
            sandbox = try VMSandbox(root: root, agentBinary: root + "/vm/bin/shipkeep-agent", listenAddress: address,
                                    user: DebianTree.deployUser)
            try sandbox.writeAgentConfig(systemd: "{unit: bot.service, scope: \(scope.rawValue)}")
            try FileManager.default.createDirectory(atPath: bootDir, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/vm/bin", withIntermediateDirectories: true)
            try writeBootFiles(startLimit: startLimit)
            let made = try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deploy's own key",
                                       "-f", accountKey])
            guard made.status == 0 else { throw SandboxError("ssh-keygen failed: \(made.stderr)") }
            try authorize(publicKeyLine: try String(contentsOfFile: accountKey + ".pub", encoding: .utf8),
                          forcedCommand: nil)
        } catch {
            Self.removeLeftovers(subnet)
            reaper?.release()
            throw error
        }
    }

    deinit {
        stop()
    }

    /// Boots the VM and returns once its sshd presents the expected host key and `bot.service` is active (unless
    /// `waitForBot` is false).
    ///
    /// - Throws: ``SandboxError`` with the console's last lines when it does not come up within 30 s.
    public func boot(waitForBot: Bool = true) throws {
        guard nspawn == nil else { return }
        try giveAppToDeployUser()
        let cgroups = Self.cgroupDirs(name)
        for dir in cgroups {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let unitTarget = scope == .system ? DebianTree.systemUnitPath : DebianTree.userUnitPath
        let nspawnArgv = [
            "systemd-nspawn", "--quiet", "-D", tree, "--volatile=overlay", "--boot", "--register=no",
            "--keep-unit", "--machine=\(name)", "--hostname=\(name)", "--network-veth", "--console=passive",
            "--bind-ro=\(bootDir)/sshd.conf:/etc/ssh/sshd_config.d/sandbox.conf",
            "--bind-ro=\(bootDir)/host0.network:/etc/systemd/network/10-host0.network",
            "--bind-ro=\(unitFile):\(unitTarget)",
            "--bind-ro=\(bootDir)/gitconfig:/etc/gitconfig",
            "--bind-ro=\(bootDir)/hostname:/etc/hostname",
            "--bind=\(sandbox.root)",
        ] + (scope == .system ? ["--bind-ro=\(bootDir)/sudoers:/etc/sudoers.d/shipkeep"] : [])
        // Into cgroups of its own first (see the type's doc), then nspawn in place of the shell.
        let enter = cgroups.map { "echo $$ > \($0)/cgroup.procs" }.joined(separator: " && ")
        let started = Date()
        nspawn = try BackgroundProcess(["/bin/sh", "-c", enter + " && exec \"$@\"", "sh"] + nspawnArgv,
                                       outputPath: consoleLog)
        do {
            try awaitBoot(since: started, waitForBot: waitForBot)
            try installAgent()
        } catch {
            halt(clean: false)
            throw error
        }
    }

    /// Makes the deploy user (uid 1000 inside and out: there is no user namespace) own the work tree and the state
    /// again, after the host (root) wrote fixtures into them. `boot()` does it too.
    ///
    /// - Throws: ``SandboxError`` when chown fails.
    public func giveAppToDeployUser() throws {
        let uid = DebianTree.deployUID
        let owned = [sandbox.root + "/vm/srv", sandbox.root + "/vm/state", sandbox.root + "/vm/bin"]
        let result = try runProcess(["chown", "-R", "\(uid):\(uid)"] + owned)
        guard result.status == 0 else { throw SandboxError("chown failed: \(result.stderr)") }
    }

    /// Reboots the VM cleanly (`systemctl reboot` inside) and boots it again; nspawn ends at a reboot.
    ///
    /// - Throws: ``SandboxError`` when it does not go down or come back.
    public func reboot() throws {
        _ = try exec(["systemctl", "reboot"])
        guard let process = nspawn else { throw SandboxError("\(name) is not running") }
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard !process.isRunning else { throw SandboxError("\(name) did not shut down within 30 s of reboot") }
        halt(clean: false)
        try boot()
    }

    /// Cuts the power: SIGKILL to nspawn and to every process of the VM at once, nothing shut down; then boots it
    /// again on the same persistent directory.
    ///
    /// - Throws: ``SandboxError`` when it does not come back.
    public func powerCut(waitForBot: Bool = true) throws {
        halt(clean: false)
        try boot(waitForBot: waitForBot)
    }

    /// Shuts the VM down (a clean poweroff, SIGKILL after 10 s) and removes its veth, cgroups, propagate dir and
    /// subnet claim. Idempotent.
    public func stop() {
        halt(clean: true)
        Self.removeLeftovers(subnet)
        reaper?.release()
        reaper = nil
    }

    /// Runs `argv` inside the VM as root, or as `user` (`runuser`; a user-scope `systemctl --user` finds its
    /// manager through `XDG_RUNTIME_DIR`, which is set for the deploy user).
    ///
    /// - Throws: ``SandboxError`` when nsenter cannot start.
    public func exec(_ argv: [String], as user: String? = nil) throws -> ProcessResult {
        guard let user else { return try runProcess(execPrefix + argv) }
        let runtime = "XDG_RUNTIME_DIR=/run/user/\(DebianTree.deployUID)"
        return try runProcess(execPrefix + ["runuser", "-u", user, "--", "env", runtime] + argv)
    }

    /// `systemctl` for the bot's manager (`--user` as the deploy user, or the system's), inside the VM.
    ///
    /// - Throws: ``SandboxError`` when nsenter cannot start.
    public func systemctl(_ arguments: [String]) throws -> ProcessResult {
        scope == .user
            ? try exec(["systemctl", "--user"] + arguments, as: user)
            : try exec(["systemctl"] + arguments)
    }

    /// Lets another key log in as the deploy user (with `forcedCommand`, or a shell if nil).
    ///
    /// - Throws: ``SandboxError`` when authorized_keys cannot be written.
    public func authorize(publicKeyLine: String, forcedCommand: String?) throws {
        try sandbox.server.authorize(publicKeyLine: publicKeyLine, forcedCommand: forcedCommand)
        // sshd reads it as the deploy user; the server writes it private to root.
        chmod(sandbox.server.directory + "/authorized_keys", 0o644)
    }

    /// The flags that point `shipkeep` at this VM.
    public var controllerArguments: [String] { sandbox.controllerArguments }

    // MARK: - Boot

    /// Installs the agent with `shipkeep install` over the deploy user's own key, as a user sets up a VM, unless
    /// the VM has this very agent already (a reboot, a power cut: it lives on the persistent disk).
    private func installAgent() throws {
        let installed = installedAgent
        if FileManager.default.fileExists(atPath: installed),
           try runProcess(["cmp", "-s", agentBinary, installed]).status == 0 {
            return
        }
        let started = Date()
        let install = try runProcess([
            try BuildProducts.path("shipkeep"), "install", "--host", address, "--port", "22", "--user", user,
            "--identity", accountKey, "--known-hosts", sandbox.server.knownHostsPath, "--agent-binary", agentBinary,
            "--remote-path", installed, "--remote-config", sandbox.agentConfigPath,
        ], environment: ["SSH_AUTH_SOCK": "", "SHIPKEEP_SSH_CONFIG": "/dev/null", "NO_COLOR": "1",
                         "SHIPKEEP_SSH_KEY": "", "SHIPKEEP_SSH_PASSPHRASE": "", "SHIPKEEP_APP": ""])
        guard install.status == 0 else {
            throw SandboxError("shipkeep install into \(name) failed (exit \(install.status)): \(install.stdout)"
                + install.stderr)
        }
        installOutput = install.stdout
        FileHandle.standardError.write(Data(String(format: "%@: shipkeep install took %.2f s\n", name,
                                                   Date().timeIntervalSince(started)).utf8))
    }

    private func writeBootFiles(startLimit: Bool) throws {
        let server = sandbox.server
        // sshd reads authorized_keys as the deploy user: its directory must let that user through.
        chmod(server.directory, 0o711)
        chmod(server.directory + "/authorized_keys", 0o644)
        try write("sshd.conf", """
            HostKey \(server.directory)/ssh_host_ed25519_key
            AuthorizedKeysFile \(server.directory)/authorized_keys
            # The sandbox directory lives under /tmp, which others can write to.
            StrictModes no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            MaxStartups 50

            """)
        try write("host0.network", """
            [Match]
            Name=host0

            [Network]
            Address=\(address)/24
            LinkLocalAddressing=no
            IPv6AcceptRA=no

            """)
        try write("bot.service", SampleApp.unit(appPath: sandbox.appPath, user: scope == .system ? user : nil,
                                                startLimit: startLimit))
        // The origin belongs to root (the host pushes into it); git fetches from another user's repository only
        // when told it is safe. On a real VM the origin is a remote.
        try write("hostname", name + "\n")
        try write("gitconfig", "[safe]\n\tdirectory = \(sandbox.origin)\n")
        try write("sudoers", SudoersRule.line(user: user, units: ["bot.service"]) + "\n", mode: 0o440)
    }

    private func write(_ file: String, _ text: String, mode: mode_t = 0o644) throws {
        let path = bootDir + "/" + file
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
    }

    /// Addresses the host's end of the veth once nspawn made it, finds the VM's PID 1, waits for its sshd (the
    /// expected host key: read with ssh-keyscan and compared, never accepted blindly), then for the bot.
    private func awaitBoot(since started: Date, waitForBot: Bool) throws {
        let deadline = started.addingTimeInterval(30)
        func waitFor(_ what: String, _ condition: () throws -> Bool) throws {
            while try !condition() {
                guard nspawn?.isRunning == true else {
                    throw SandboxError("\(name) exited while waiting for \(what): \(consoleTail())")
                }
                guard Date() < deadline else {
                    throw SandboxError("\(name): no \(what) within 30 s of boot: \(consoleTail())")
                }
                usleep(20_000)
            }
        }
        let device = "ve-" + name
        try waitFor("veth \(device)") { FileManager.default.fileExists(atPath: "/sys/class/net/" + device) }
        for step in [["addr", "add", hostAddress + "/24", "dev", device], ["link", "set", device, "up"]] {
            let result = try runProcess(["ip"] + step)
            guard result.status == 0 else { throw SandboxError("ip \(step.joined(separator: " ")): \(result.stderr)") }
        }
        try waitFor("PID 1") {
            leader = Self.child(of: nspawn?.pid ?? 0) ?? 0
            return leader != 0
        }
        try waitFor("sshd on \(address):22") { LoopbackPort.answersSSH(address: address, port: 22, timeout: 1) }
        let scanned = try runProcess(["ssh-keyscan", "-T", "5", "-t", "ed25519", address]).stdout
        let expected = sandbox.server.hostKeyPublicLine
        guard scanned.split(separator: "\n").contains(where: { $0.hasSuffix(expected) }) else {
            throw SandboxError("\(name)'s sshd presents another host key than its own: \(scanned)")
        }
        try sandbox.server.attach(port: 22)
        let ssh = Date()
        if waitForBot {
            do {
                try waitFor("active bot.service") {
                    try systemctl(["is-active", "--quiet", "bot.service"]).status == 0
                }
            } catch {
                let status = try? systemctl(["status", "--no-pager", "-n", "20", "bot.service"])
                throw SandboxError("\(error)\n\(status?.stdout ?? "")\(status?.stderr ?? "")")
            }
        }
        FileHandle.standardError.write(Data(String(format: "%@: sshd after %.2f s, bot after %.2f s\n", name,
            ssh.timeIntervalSince(started), Date().timeIntervalSince(started)).utf8))
    }

    /// The last lines nspawn printed.
    private func consoleTail() -> String {
        let text = (try? String(contentsOfFile: consoleLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(15).joined(separator: "\n")
    }

    /// Ends nspawn (cleanly: SIGTERM asks the VM's systemd to power off; or at once: SIGKILL), then kills whatever
    /// is left in the VM's cgroups and removes them, the veth and the propagate dir.
    private func halt(clean: Bool) {
        if let process = nspawn {
            if clean {
                process.stop(grace: 10)
            } else {
                // nspawn is in the VM's cgroups too: everything dies at once, as in a power cut.
                Self.killAll(name)
                process.stop(grace: 0)
            }
        }
        nspawn = nil
        leader = 0
        Self.removeVM(name)
    }
}
