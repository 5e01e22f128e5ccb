import ArgumentParser
import Foundation
import ShipkeepSandbox

/// `shipkeep-sandbox`: a throwaway VM on this machine for the demo and the benchmarks.
@main
struct SandboxTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shipkeep-sandbox",
        abstract: "Run a throwaway VM sandbox: a real sshd on loopback and a sample bot app that keeps writing.",
        subcommands: [Run.self, VMTree.self, Reliability.self, VMReap.self]
    )
}

/// `shipkeep-sandbox vm-tree`: builds the Debian tree systemd VMs boot, unless this machine has it already.
struct VMTree: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm-tree",
        abstract: "Build (once per machine) the Debian tree that --vm and the systemd VM tests boot; print its path."
    )

    func run() throws {
        let started = Date()
        let tree = try DebianTree.prepare()
        print(String(format: "%@ (%.1f s)", tree, Date().timeIntervalSince(started)))
    }
}

/// `shipkeep-sandbox vm-reap`: started by every systemd VM's owner; removes the VM when the owner dies without
/// stopping it.
struct VMReap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm-reap",
        abstract: "Wait for end of file on stdin (the owner died or is done), then remove the VM the owner left.",
        shouldDisplay: false
    )

    @Option(name: .long, help: "The VM's subnet number (10.77.N.0/24).")
    var subnet: Int

    @Option(name: .long, help: "The pid the VM's claim names.")
    var owner: Int32

    func run() throws {
        if SystemdVM.reap(subnet: subnet, owner: owner) {
            let said = "shipkeep-sandbox: process \(owner) died with VM skvm\(subnet) running; removed it\n"
            FileHandle.standardError.write(Data(said.utf8))
        }
    }
}

/// `shipkeep-sandbox run --dir DIR`: builds the sandbox, starts sshd and the bot, writes `DIR/sandbox.env`
/// with the settings `shipkeep` needs, and keeps everything running until SIGINT or SIGTERM.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the sandbox and keep it running until interrupted; DIR/sandbox.env says how to reach it."
    )

    @Option(name: .long, help: ArgumentHelp("An empty or new directory for the sandbox.", valueName: "dir"))
    var dir: String

    @Flag(name: .customLong("no-bot"), help: "Do not start the sample bot.")
    var noBot = false

    @Option(name: .customLong("data-files"), help: "Files of history to put in the data dir first.")
    var dataFiles = 200

    @Option(name: .customLong("data-kib"), help: "KiB per history file.")
    var dataKiB = 64

    @Flag(name: .long, help: """
        Boot a real VM instead (systemd-nspawn, systemd as PID 1; root only): the bot is bot.service, run by the \
        non-root deploy user, whose key runs the static agent (SHIPKEEP_STATIC_AGENT).
        """)
    var vm = false

    @Option(name: .long, help: ArgumentHelp("With --vm, which systemd manager runs bot.service: user or system.",
                                            valueName: "scope"))
    var scope = "user"

    func run() throws {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGINT)
        sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, nil)

        let root = URL(fileURLWithPath: dir).standardizedFileURL.path
        var systemdVM: SystemdVM?
        let sandbox: VMSandbox
        if vm {
            guard let scope = SystemdVM.Scope(rawValue: scope) else {
                throw ValidationError("--scope must be user or system, not \(scope)")
            }
            let machine = try SystemdVM(root: root, scope: scope)
            systemdVM = machine
            sandbox = machine.sandbox
        } else {
            sandbox = try VMSandbox(root: root)
        }
        try sandbox.fillData(files: dataFiles, bytesEach: dataKiB * 1024)
        if let systemdVM {
            try systemdVM.boot(waitForBot: !noBot)
            if noBot { _ = try systemdVM.systemctl(["stop", "bot.service"]) }
        } else {
            try sandbox.start()
            if !noBot { try sandbox.startBot() }
        }
        let server = sandbox.server
        // A second, unrestricted key for comparisons with plain-ssh recipes (benchmarks only).
        let plainKey = root + "/plain_key"
        let made = try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "plain", "-f", plainKey])
        guard made.status == 0 else { throw SandboxError("ssh-keygen failed: \(made.stderr)") }
        let plainLine = try String(contentsOfFile: plainKey + ".pub", encoding: .utf8)
        if let systemdVM {
            try systemdVM.authorize(publicKeyLine: plainLine, forcedCommand: nil)
        } else {
            try server.authorize(publicKeyLine: plainLine, forcedCommand: nil)
        }
        var settings = [
            "SHIPKEEP_HOST": server.listenAddress,
            "SHIPKEEP_PORT": String(server.port),
            "SHIPKEEP_USER": server.user,
            "SHIPKEEP_IDENTITY": server.userKeyPath,
            "SHIPKEEP_KNOWN_HOSTS": server.knownHostsPath,
            "SHIPKEEP_APP": sandbox.appName,
            "SANDBOX_APP_PATH": sandbox.appPath,
            "SANDBOX_DEVELOPER": sandbox.developer,
            "SANDBOX_AGENT_CONFIG": sandbox.agentConfigPath,
            "SANDBOX_AUTHORIZED_KEYS": server.directory + "/authorized_keys",
            "SANDBOX_HOST_FINGERPRINT": server.hostKeyFingerprint,
            "SANDBOX_SSHD_LOG": server.logPath,
            "SANDBOX_PLAIN_KEY": plainKey,
        ]
        if let systemdVM {
            // Inside the VM sshd logs to its journal; nspawn's console is the nearest file.
            settings["SANDBOX_SSHD_LOG"] = systemdVM.consoleLog
            settings["SANDBOX_VM_EXEC"] = systemdVM.execPrefix.joined(separator: " ")
            settings["SANDBOX_VM_NAME"] = systemdVM.name
        }
        let env = settings.sorted { $0.key < $1.key }.map { "\($0.key)='\($0.value)'" }.joined(separator: "\n")
        // Written last and renamed into place, so a reader that sees the file sees all of it.
        try (env + "\n").write(toFile: root + "/sandbox.env.tmp", atomically: false, encoding: .utf8)
        rename(root + "/sandbox.env.tmp", root + "/sandbox.env")
        let kind = systemdVM.map { "VM \($0.name) (systemd-nspawn, bot.service in \($0.scope.rawValue) scope), " } ?? ""
        print("sandbox up: \(kind)sshd on \(server.listenAddress):\(server.port), app at \(sandbox.appPath)")

        var signal: Int32 = 0
        sigwait(&blocked, &signal)
        systemdVM?.stop()
        sandbox.stop()
        print("sandbox down")
    }
}
