import Foundation
import Testing
import ShipkeepSandbox

/// Fault matrix, row group 3: the connection lost mid-deploy — the network link cut (the VM in its own
/// network namespace), and sshd killed and restarted. The controller must give up with a clear error
/// instead of hanging, the deploy must finish on the VM, and `attach` afterwards must show it.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ConnectionFaultTests {
    /// Seconds of silence the controller tolerates here: more than the agent's 5 s heartbeat, so only a
    /// dead link trips it.
    static let readTimeout = 7.0

    @Test("the network link cut mid-deploy: the controller times out clearly, the deploy completes on the VM")
    func linkCut() throws {
        // Root only: CI runs as root; elsewhere NetworkNamespace fails saying so.
        let namespace = try NetworkNamespace()
        defer { namespace.remove() }
        try withSandbox(bot: false, namespace: namespace) { vm in
            let fixture = try Faults.prepare(vm)
            let paused = try Faults.startPaused(vm, in: "update", extra: ["--timeout", String(Int(Self.readTimeout))])
            try namespace.linkDown()
            var linkIsDown = true
            defer { if linkIsDown { try? namespace.linkUp() } }
            let cut = Date()
            paused.resume()

            try waitUntil("the controller gives up", timeout: Self.readTimeout + 30) { !paused.controller.isRunning }
            let gaveUpAfter = Date().timeIntervalSince(cut)
            let status = try paused.controller.wait()
            let stderr = paused.controller.errorOutput
            #expect(status == 3, "exit 3: the VM could not be asked to the end; stderr: \(stderr)")
            #expect(stderr.contains("no data from") && stderr.contains("connection appears dead"), "\(stderr)")
            // The read timeout, then at most 2 s spent closing the dead session (measured: 9.0 s in all).
            #expect(gaveUpAfter < Self.readTimeout + 5, "gave up after \(gaveUpAfter)s")

            // With the link still down, the deploy finishes on the VM.
            try Faults.waitForEnd(vm, deploy: paused.deploy)
            #expect(try vm.liveCommit() == fixture.target)
            try namespace.linkUp()
            linkIsDown = false

            let attached = try shipkeep(["attach", "--json", "--deploy", paused.deploy] + vm.controllerArguments)
            let outcome = (Faults.result(attached.stdout)?["deploy"] as? [String: Any])?["outcome"] as? String ?? "none"
            #expect(attached.status == 0 && outcome == "succeeded", "\(attached.stderr)")
            let app = try Faults.appStatus(vm)
            #expect(Faults.lastOutcome(app) == "succeeded")
            #expect(app["lock"] == nil)
            let lost = try Faults.linesLost(vm)
            #expect(try vm.dataChecksums() == fixture.checksums)

            try ReliabilityRecord(
                section: "faults", id: "03-0", scenario: "network link cut mid-deploy",
                injection: "VM in its own network namespace (veth); worker paused in update; host end of the veth "
                    + "set down; worker resumed; link up after the deploy ended",
                outcome: "controller exit \(status) (\(stderr.contains("no data from") ? "no data" : "other") "
                    + "error within --timeout); attach after the link returns: \(outcome); "
                    + "status: \(Faults.lastOutcome(app)); \(try Faults.codeAt(vm, fixture)); \(Faults.lockState(app))",
                linesLost: lost, test: "ConnectionFaultTests/linkCut()"
            ).write()
        }
    }

    @Test("sshd killed and restarted mid-deploy: the controller reports the lost connection, the deploy completes")
    func sshdRestarted() throws {
        try withSandbox(bot: false) { vm in
            let fixture = try Faults.prepare(vm)
            let paused = try Faults.startPaused(vm, in: "update")
            let port = vm.server.port
            let sshd = try #require(vm.server.pid)
            // sshd and every sshd process serving a connection; not the agent or its worker.
            let victims = [sshd] + descendants(of: sshd).filter { (processName($0) ?? "").hasPrefix("sshd") }
            for pid in victims { kill(pid, SIGKILL) }
            vm.server.stop()

            try waitUntil("the controller gives up", timeout: 30) { !paused.controller.isRunning }
            let status = try paused.controller.wait()
            let stderr = paused.controller.errorOutput
            #expect(status == 3, "\(stderr)")
            #expect(stderr.split(separator: "\n").count == 1, "one line: \(stderr)")
            #expect(stderr.contains("deploy \(paused.deploy) goes on on the VM: follow it with `shipkeep attach --host "),
                    "the line says how to follow the deploy: \(stderr)")
            try vm.server.start(port: port)
            paused.resume()

            let attached = try shipkeep(["attach", "--json", "--deploy", paused.deploy] + vm.controllerArguments)
            let outcome = (Faults.result(attached.stdout)?["deploy"] as? [String: Any])?["outcome"] as? String ?? "none"
            #expect(attached.status == 0 && outcome == "succeeded", "\(attached.stderr)")
            let app = try Faults.appStatus(vm)
            #expect(Faults.lastOutcome(app) == "succeeded")
            #expect(app["lock"] == nil)
            #expect(try vm.liveCommit() == fixture.target)
            let lost = try Faults.linesLost(vm)
            #expect(try vm.dataChecksums() == fixture.checksums)

            try ReliabilityRecord(
                section: "faults", id: "04-0", scenario: "sshd killed and restarted mid-deploy",
                injection: "worker paused in update; `kill -9` of sshd and its session processes; sshd started "
                    + "again on the same port; worker resumed",
                outcome: "controller exit \(status) with one line; attach: \(outcome); "
                    + "status: \(Faults.lastOutcome(app)); \(try Faults.codeAt(vm, fixture)); \(Faults.lockState(app))",
                linesLost: lost, test: "ConnectionFaultTests/sshdRestarted()"
            ).write()
        }
    }

    /// Every process below `root`, from /proc.
    private func descendants(of root: Int32) -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let parent = parentPID(pid) else { continue }
            children[parent, default: []].append(pid)
        }
        var found: [Int32] = []
        var queue = [root]
        while let next = queue.popLast() {
            for child in children[next] ?? [] {
                found.append(child)
                queue.append(child)
            }
        }
        return found
    }

    private func parentPID(_ pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    private func processName(_ pid: Int32) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
