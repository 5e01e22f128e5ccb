import Foundation
import Glibc
import Testing
import ShipkeepSandbox

/// What a reader of shipkeep's stdout through a pipe (CI, `tee`) gets, and when: every line as it happens, and
/// from a controller stopped by a signal, the line that says the deploy goes on and the command that follows it.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct LiveOutputTests {
    /// The environment of a controller under test, as `shipkeep(_:)` gives it.
    private static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ["SSH_AUTH_SOCK": "", "NO_COLOR": "1", "SHIPKEEP_SSH_CONFIG": "/dev/null"]
        for key in ["SHIPKEEP_HOST", "SHIPKEEP_PORT", "SHIPKEEP_USER", "SHIPKEEP_APP", "SHIPKEEP_IDENTITY",
                    "SHIPKEEP_KNOWN_HOSTS", "SHIPKEEP_FINGERPRINT", "SHIPKEEP_SSH_KEY", "SHIPKEEP_CONFIG"] {
            env[key] = ""
        }
        return env.merging(extra) { $1 }
    }

    /// The sandbox with an after_update hook that notes when it started and then waits for the gate file: the
    /// deploy cannot end before the test opens it.
    private struct Gate {
        let vm: VMSandbox
        var started: String { vm.root + "/hook-started" }
        var file: String { vm.root + "/gate" }

        init(_ vm: VMSandbox) throws {
            self.vm = vm
            try vm.writeAgentConfig(hooks: [["bash", "-c",
                                             "date +%s.%N > \(vm.root)/hook-started; "
                                                 + "while [ ! -e \(vm.root)/gate ]; do sleep 0.05; done"]])
        }

        /// When the hook began to wait, once it has.
        func hookStarted() throws -> Double {
            var text = ""
            try waitUntil("the update hook runs") {
                text = (try? String(contentsOfFile: started, encoding: .utf8)) ?? ""
                return text.hasSuffix("\n")
            }
            return try #require(Double(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        }

        func open() {
            _ = FileManager.default.createFile(atPath: file, contents: nil)
        }
    }

    @Test func eachLineReachesAPipeAsItHappens() throws {
        try withSandbox(bot: true) { vm in
            let gate = try Gate(vm)
            let deploy = try PipedCommand([try BuildProducts.path("shipkeep"), "deploy"] + vm.controllerArguments,
                                          environment: Self.environment())
            // The hook holds the deploy in its update until the gate opens: all of this is read before it ends.
            let header = try #require(try deploy.waitForLine { $0.hasPrefix("deploy d-") }, "\(deploy.errorOutput)")
            #expect(header.contains(" of bots on "))
            #expect(try deploy.waitForLine { $0.contains("✓ snapshot") } != nil, "\(deploy.lines)")
            _ = try gate.hookStarted()
            #expect(!deploy.lines.contains { $0.contains("✓ update") || $0.hasPrefix("deployed") })
            gate.open()
            let lines = try deploy.readToEnd()
            #expect(deploy.wait() == 0, "\(deploy.errorOutput)")
            #expect(lines.last?.hasPrefix("deployed ") == true, "\(lines)")
            vm.stopBot()
        }
    }

    /// A controller signalled mid-deploy (Ctrl-C, a cancelled CI job) exits 130 or 143 and leaves its reader the
    /// deploy id and a command that, pasted as printed, follows the deploy to its end — naming the target as the
    /// user did: flags, or a shipkeep.yml name with its --config.
    @Test(arguments: [(SIGINT, false, false), (SIGTERM, true, false), (SIGTERM, false, true), (SIGHUP, false, false)])
    func aSignalledControllerLeavesTheCommandThatFollowsTheDeploy(signal: Int32, projectFile: Bool,
                                                                   json: Bool) throws {
        try withSandbox(bot: true) { vm in
            let gate = try Gate(vm)
            var target = vm.controllerArguments
            let workDir = vm.root + "/elsewhere"
            try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
            if projectFile {
                let project = vm.root + "/project/shipkeep.yml"
                try FileManager.default.createDirectory(atPath: vm.root + "/project", withIntermediateDirectories: true)
                try """
                    targets:
                      prod:
                        host: \(vm.server.listenAddress)
                        port: \(vm.server.port)
                        user: \(vm.server.user)
                        app: \(vm.appName)
                        identity: \(vm.server.userKeyPath)
                        known_hosts: \(vm.server.knownHostsPath)

                    """.write(toFile: project, atomically: true, encoding: .utf8)
                target = ["prod", "--config", project]
            }
            let binary = try BuildProducts.path("shipkeep")
            let deploy = try PipedCommand([binary, "deploy"] + target + (json ? ["--json"] : []),
                                          environment: Self.environment(), cwd: workDir)
            let deployID: String
            if json {
                let started = try #require(try deploy.waitForLine { $0.contains(#""type":"started""#) },
                                           "\(deploy.errorOutput)")
                deployID = try #require(jsonLines(started).first?["deploy"] as? String)
            } else {
                let header = try #require(try deploy.waitForLine { $0.hasPrefix("deploy d-") }, "\(deploy.errorOutput)")
                deployID = String(header.split(separator: " ")[1])
                let hint = try #require(try deploy.waitForLine { $0.contains("follows it") })
                let given = projectFile ? "prod --config \(vm.root)/project/shipkeep.yml" : "--host \(vm.server.listenAddress)"
                #expect(hint.contains("`shipkeep attach \(given) "), "the hint names the target as given: \(hint)")
                #expect(hint.contains("--deploy \(deployID)` follows it"), "\(hint)")
            }
            let hookStarted = try gate.hookStarted()
            deploy.signal(signal)
            let lines = try deploy.readToEnd()
            // 128 + the signal, and the notice below: our exit, not the signal's default action (which prints nothing).
            #expect(deploy.wait() == 128 + signal, "\(deploy.errorOutput)")
            let last = try #require(lines.last)
            #expect(lines.contains { $0.contains(deployID) } , "the deploy id reached the reader: \(lines)")
            let printed: String
            if json {
                let result = try #require(jsonLines(last).first)
                #expect(result["type"] as? String == "result" && result["ok"] as? Bool == false, "\(last)")
                #expect(result["exitCode"] as? Int == Int(128 + signal))
                #expect((result["error"] as? [String: Any])?["code"] as? String == "interrupted")
                printed = try #require(result["attach"] as? String, "\(last)")
                #expect(deploy.errorOutput.contains("goes on on the VM"), "\(deploy.errorOutput)")
            } else {
                let name = [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGHUP"][signal] ?? "?"
                #expect(last.hasPrefix("interrupted (\(name)): deploy \(deployID) "
                                       + "goes on on the VM"), "\(last)")
                let quoted = last.split(separator: "`", omittingEmptySubsequences: false)
                printed = String(try #require(quoted.count >= 3 ? quoted[1] : nil, "no `command` in \(last)"))
            }
            #expect(printed.hasPrefix(projectFile ? "shipkeep attach prod --config " : "shipkeep attach --host "),
                    "\(printed)")
            #expect(printed.hasSuffix("--deploy \(deployID)"), "\(printed)")

            // The command as printed, run by a shell in the same place, follows the deploy to its end.
            let path = (binary as NSString).deletingLastPathComponent + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            let attach = try PipedCommand(["bash", "-c", printed], environment: Self.environment(["PATH": path]),
                                          cwd: workDir)
            #expect(try attach.waitForLine { $0.hasPrefix("deploy \(deployID)") } != nil, "\(attach.errorOutput)")
            // The update phase waits on the gate; held for a measurable time, its replayed duration must show it.
            try waitUntil("the hook has waited half a second") { Date().timeIntervalSince1970 - hookStarted >= 0.5 }
            gate.open()
            let followed = try attach.readToEnd()
            #expect(attach.wait() == 0, "\(attach.errorOutput)\n\(followed)")
            #expect(followed.last?.hasPrefix("deployed ") == true, "\(followed)")
            let update = try #require(followed.first { $0.contains("✓ update") }, "\(followed)")
            let seconds = update.split(separator: " ").first { $0.hasSuffix("s") && Double($0.dropLast()) != nil }
            #expect(Double(seconds?.dropLast() ?? "") ?? 0 >= 0.5, "the update waited ≥ 0.5 s: \(update)")

            // Replayed once it is over, every phase keeps the duration the worker measured.
            let replay = try shipkeep(["attach", "--json", "--deploy", deployID] + vm.controllerArguments)
            #expect(replay.status == 0, "\(replay.stderr)")
            let ended = jsonLines(replay.stdout).filter { $0["type"] as? String == "phase" && $0["state"] as? String == "completed" }
            #expect(ended.count == 6 && ended.allSatisfy { $0["seconds"] is Double }, "\(replay.stdout)")
            let replayedUpdate = ended.first { $0["name"] as? String == "update" }?["seconds"] as? Double ?? 0
            #expect(replayedUpdate >= 0.5, "\(replayedUpdate)")
            vm.stopBot()
        }
    }
}
