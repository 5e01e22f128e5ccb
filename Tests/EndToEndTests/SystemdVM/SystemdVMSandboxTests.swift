import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep-sandbox run --vm` and what a systemd VM leaves on the host: nothing, once stopped or once its
/// owner was killed and another VM started.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SystemdVMSandboxTests {
    /// sandbox.env's settings.
    private func settings(_ path: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1].dropFirst().dropLast()) }
        }
        return values
    }

    /// The host-side traces of the VM `name`.
    private func traces(_ name: String) -> [String] {
        ["/sys/class/net/ve-\(name)", "/sys/fs/cgroup/unified/shipkeep-vm-\(name)",
         "/sys/fs/cgroup/systemd/shipkeep-vm-\(name)", "/run/systemd/nspawn/propagate/\(name)",
         "/run/shipkeep-vm/\(name.dropFirst(4))"].filter { FileManager.default.fileExists(atPath: $0) }
    }

    @Test("run --vm writes sandbox.env with the VM's exec prefix; a killed sandbox's VM is removed at once")
    func runVMThenKillIt() throws {
        let dir = try TemporaryDirectory()
        let tool = try BackgroundCommand([try BuildProducts.path("shipkeep-sandbox"), "run", "--vm", "--dir",
                                          dir.path + "/vm", "--data-files", "5"])
        try waitUntil("sandbox.env is written", timeout: 120) {
            FileManager.default.fileExists(atPath: dir.path + "/vm/sandbox.env") || !tool.isRunning
        }
        let env = try settings(dir.path + "/vm/sandbox.env")
        let name = try #require(env["SANDBOX_VM_NAME"], "\(tool.errorOutput)")
        let exec = try #require(env["SANDBOX_VM_EXEC"]).split(separator: " ").map(String.init)
        #expect(env["SHIPKEEP_USER"] == "deploy")
        #expect(env["SHIPKEEP_PORT"] == "22")
        let inside = try runProcess(exec + ["systemctl", "is-system-running", "--wait"])
        #expect(["running", "degraded"].contains(inside.stdout.trimmingCharacters(in: .whitespacesAndNewlines)),
                "systemd is PID 1 of the VM: \(inside.stdout)\(inside.stderr)")
        let status = try shipkeep(["status"], environment: env)
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")

        tool.kill(SIGKILL)
        // Its reaper saw it die and removed the VM: no later VM has to.
        try waitUntil("the killed sandbox's VM is removed", timeout: 30) { traces(name).isEmpty }
        #expect(traces(name).isEmpty, "the veth, cgroups and claim of a killed sandbox's VM: \(traces(name))")
    }

    @Test("two VMs run at once, each in its own cgroup: stopping one leaves the other's bot running")
    func twoVMsAtOnce() throws {
        try withSystemdVM(scope: .system) { first in
            try withSystemdVM(scope: .system) { second in
                #expect(first.name != second.name)
                try first.awaitBotLines()
                try second.awaitBotLines()
                _ = try first.systemctl(["stop", "bot.service"])
                try second.awaitBotLines()
                #expect(try second.systemctl(["is-active", "bot.service"]).status == 0)
                first.stop()
                #expect(traces(first.name).isEmpty, "\(traces(first.name))")
                try second.awaitBotLines()
            }
        }
    }
}
