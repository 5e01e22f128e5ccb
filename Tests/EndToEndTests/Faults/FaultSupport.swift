import Foundation
import Testing
import ShipkeepSandbox

/// A deploy whose worker stopped itself at a fault point, with the controller still running.
struct PausedDeploy {
    /// The controller (`shipkeep deploy --json`).
    let controller: BackgroundShipkeep
    /// The worker's pid on the VM.
    let worker: Int32
    /// The deploy id.
    let deploy: String

    /// Lets the worker go on.
    func resume() {
        kill(worker, SIGCONT)
    }
}

/// What a fault test's sandbox looks like before the fault: a new commit pushed, the bot writing.
struct FaultFixture {
    let previous: String
    let target: String
    let checksums: [String: String]
}

/// Shared steps of the fault matrix.
enum Faults {
    /// 20 files of history, a new bot version (or `files`) pushed, the bot started.
    static func prepare(_ vm: VMSandbox, commit files: [String: String]? = nil) throws -> FaultFixture {
        try vm.fillData(files: 20, bytesEach: 64 * 1024)
        let previous = try vm.liveCommit()
        let target = try vm.commit(files ?? ["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
        try vm.startBot()
        return FaultFixture(previous: previous, target: target, checksums: try vm.dataChecksums())
    }

    /// A commit whose service check fails, so the deploy reaches `rollback`.
    static let unhealthy = ["check.sh": "#!/usr/bin/env bash\necho 'self-test failed' >&2\nexit 1\n"]

    /// Starts `shipkeep deploy --json` with the worker set to stop in `phase`, and waits until it has.
    ///
    /// - Parameter stateDir: the app's state dir when agent.yml names another than the sandbox's.
    static func startPaused(_ vm: VMSandbox, in phase: String, extra: [String] = [],
                            stateDir: String? = nil) throws -> PausedDeploy {
        if let stateDir {
            try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
            try Data().write(to: URL(fileURLWithPath: stateDir + "/fault-pause-" + phase))
        } else {
            try vm.pauseNextDeploy(in: phase)
        }
        let controller = try BackgroundShipkeep(["deploy", "--json"] + extra + vm.controllerArguments)
        let line = try controller.waitForLine { $0.contains("\"type\":\"started\"") }
        let started = try #require(jsonLines(line).first)
        let pid = Int32(try #require(started["pid"] as? Int))
        let deploy = try #require(started["deploy"] as? String)
        try waitUntil("the worker stops in \(phase)") { processState(pid) == "T" }
        return PausedDeploy(controller: controller, worker: pid, deploy: deploy)
    }

    /// The app's entry of `shipkeep status --json`.
    static func appStatus(_ vm: VMSandbox) throws -> [String: Any] {
        let status = try shipkeep(["status", "--json"] + vm.controllerArguments)
        let report = try #require(jsonLines(status.stdout).first { $0["type"] as? String == "status" },
                                  "status answered: \(status.stderr)")
        return try #require((report["apps"] as? [[String: Any]])?.first)
    }

    /// Waits until the deploy's journal on the VM holds its result and nobody holds the lock.
    static func waitForEnd(_ vm: VMSandbox, deploy: String, timeout: Double = 90) throws {
        let journal = vm.stateDir + "/deploys/" + deploy + ".jsonl"
        try waitUntil("deploy \(deploy) ends on the VM", timeout: timeout) {
            let text = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
            let lock = (try? String(contentsOfFile: vm.stateDir + "/lock", encoding: .utf8)) ?? ""
            return text.contains("\"type\":\"result\"") && lock.isEmpty
        }
    }

    /// The final `result` line of a `--json` output.
    static func result(_ output: String) -> [String: Any]? {
        jsonLines(output).last { $0["type"] as? String == "result" }
    }

    /// Stops the bot and counts its lines that are missing or duplicated (0 when every seq from 1 to the last
    /// is there exactly once, in order).
    static func linesLost(_ vm: VMSandbox, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        vm.stopBot()
        let seqs = try vm.botSequence()
        let last = try #require(seqs.max(), "the bot wrote nothing", sourceLocation: sourceLocation)
        let lost = (last - Set(seqs).count) + (seqs.count - Set(seqs).count)
        #expect(lost == 0, "\(lost) line(s) lost or duplicated", sourceLocation: sourceLocation)
        #expect(seqs == Array(1...last), "lines out of order or missing", sourceLocation: sourceLocation)
        return lost
    }

    /// "the target commit", "the previous commit" or "an unexpected commit X", for the outcome column.
    static func codeAt(_ vm: VMSandbox, _ fixture: FaultFixture) throws -> String {
        let live = try vm.liveCommit()
        if live == fixture.target { return "code at the target commit" }
        if live == fixture.previous { return "code at the previous commit" }
        return "code at an unexpected commit \(live.prefix(12))"
    }

    /// "lock released" or who still holds it.
    static func lockState(_ app: [String: Any]) -> String {
        guard let lock = app["lock"] as? [String: Any] else { return "lock released" }
        return "lock held by \(lock["deploy"] as? String ?? "?")"
    }

    /// The outcome `status` reports for the last deploy.
    static func lastOutcome(_ app: [String: Any]) -> String {
        ((app["lastDeploy"] as? [String: Any])?["outcome"] as? String) ?? "none"
    }

    /// Whether the snapshot dir holds an incomplete snapshot.
    static func partialSnapshots(_ vm: VMSandbox) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: vm.snapshotDir)) ?? []
        return names.filter { $0.hasSuffix(".partial") }
    }
}
