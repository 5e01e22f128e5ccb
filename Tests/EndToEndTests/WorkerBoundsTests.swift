import Foundation
import Testing
import ShipkeepSandbox

/// What a deploy key holder can leave behind in the worker, the hooks and the app: not their environment, not
/// their request in a world-readable place, not an ever-growing pile of journals.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct WorkerBoundsTests {
    /// A process's environment from /proc, as `KEY=VALUE` strings.
    private func environment(of pid: Int32) throws -> [String: String] {
        let data = try #require(FileManager.default.contents(atPath: "/proc/\(pid)/environ"), "no process \(pid)")
        var env: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let equals = text.firstIndex(of: "=") else { continue }
            env[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return env
    }

    /// Keys the session put there that nothing started by the agent may carry.
    private func foreign(_ env: [String: String]) -> [String] {
        env.keys.filter { $0.hasPrefix("SSH_") || $0.hasPrefix("LC_") || $0 == "SHIPKEEP_AGENT_TEST_INHERITED" }
            .sorted() + (env["LANG"] == "xx_CLIENT.UTF-8" ? ["LANG (the client's)"] : [])
    }

    @Test func theSessionEnvironmentReachesNeitherWorkerNorBotAndTheRequestIsNotInArgv() throws {
        try withSandbox { vm in
            // sshd gives the forced command SSH_ORIGINAL_COMMAND (chosen by the key holder) and SSH_CONNECTION;
            // with Debian's `AcceptEnv LANG LC_*` the client's locale too, which this wrapper stands in for.
            let key = vm.root + "/session_key"
            let made = try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "env", "-f", key])
            try #require(made.status == 0, "\(made.stderr)")
            let wrapper = vm.root + "/agent-with-client-env.sh"
            try ("#!/bin/sh\nLANG=xx_CLIENT.UTF-8 LC_ALL=xx_CLIENT.UTF-8 SHIPKEEP_AGENT_TEST_INHERITED=yes exec "
                + "'\(vm.agentBinary)' serve --config '\(vm.agentConfigPath)'\n")
                .write(toFile: wrapper, atomically: false, encoding: .utf8)
            chmod(wrapper, 0o700)
            try vm.server.authorize(publicKeyLine: try String(contentsOfFile: key + ".pub", encoding: .utf8),
                                    forcedCommand: wrapper)
            var target = vm.controllerArguments
            let identity = try #require(target.firstIndex(of: "--identity"))
            target[identity + 1] = key
            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")

            try vm.pauseNextDeploy(in: "update")
            let controller = try BackgroundShipkeep(["deploy", "--json"] + target)
            let line = try controller.waitForLine { $0.contains("\"type\":\"started\"") }
            let started = try #require(jsonLines(line).first)
            let worker = Int32(try #require(started["pid"] as? Int))
            let deploy = try #require(started["deploy"] as? String)
            try waitUntil("the worker stops in update") { processState(worker) == "T" }
            let workerEnv = try environment(of: worker)
            let argv = try #require(FileManager.default.contents(atPath: "/proc/\(worker)/cmdline"))
            let cmdline = String(decoding: argv, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
            let requestFile = vm.stateDir + "/deploys/" + deploy + ".request"
            let mode = (try? FileManager.default.attributesOfItem(atPath: requestFile)[.posixPermissions] as? Int)
                .flatMap { $0 }
            kill(worker, SIGCONT)
            let status = try controller.wait()
            #expect(status == 0, "\(controller.errorOutput)")
            let bot = try #require(Int32(try String(contentsOfFile: vm.appPath + "/bot.pid", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)))
            let botEnv = try environment(of: bot)

            #expect(workerEnv["PATH"] != nil && botEnv["PATH"] != nil, "the allow-listed PATH is kept")
            #expect(foreign(workerEnv).isEmpty, "the worker inherited \(foreign(workerEnv))")
            #expect(foreign(botEnv).isEmpty, "the bot inherited \(foreign(botEnv))")
            #expect(botEnv["LANG"] == "C.UTF-8", "the bot's locale comes from agent.yml (default C.UTF-8)")
            #expect(!cmdline.contains("\"type\"") && !cmdline.contains("--request"), "argv: \(cmdline)")
            #expect(cmdline.contains(deploy), "the worker is still recognisable by its deploy id: \(cmdline)")
            #expect(mode == 0o600, "request file \(requestFile) mode \(mode.map { String($0, radix: 8) } ?? "none")")

            let leaked = Set(foreign(workerEnv) + foreign(botEnv)).sorted()
            try ReliabilityRecord.hostileInput(
                id: "22-0", scenario: "the SSH session's environment (`SSH_ORIGINAL_COMMAND`, `SSH_CONNECTION`, a "
                    + "client-chosen `LANG`/`LC_ALL`, anything else) passed on to the worker and the restarted bot",
                injection: "a deploy through a forced command that adds `LANG`, `LC_ALL` and another variable, as "
                    + "sshd's `AcceptEnv` would; the paused worker's and the new bot's /proc/PID/environ read",
                outcome: "deploy exit \(status); "
                    + (leaked.isEmpty ? "none of them in either environment"
                        : "inherited: \(leaked.joined(separator: ", "))")
                    + "; the bot's LANG is \(botEnv["LANG"] ?? "unset") (agent.yml)",
                test: "WorkerBoundsTests/theSessionEnvironmentReachesNeitherWorkerNorBotAndTheRequestIsNotInArgv()"
            ).write()
            try ReliabilityRecord.hostileInput(
                id: "22-1", scenario: "the deploy request (and so the deploy id) readable by every local user in the "
                    + "worker's /proc/PID/cmdline",
                injection: "a deploy paused in update; the worker's cmdline and its request file inspected",
                outcome: (cmdline.contains("\"type\"") ? "the request is in argv" : "the request is not in argv")
                    + "; request file mode \(mode.map { String($0, radix: 8) } ?? "none (no file)")",
                test: "WorkerBoundsTests/theSessionEnvironmentReachesNeitherWorkerNorBotAndTheRequestIsNotInArgv()"
            ).write()
        }
    }

    @Test func journalsPlansAndLogsOfOldDeploysArePruned() throws {
        try withSandbox { vm in
            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deployed = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(deployed.status == 0, "\(deployed.stderr)")
            let summary = Faults.result(deployed.stdout)?["deploy"] as? [String: Any]
            let kept = try #require(summary?["deploy"] as? String)
            // Refused requests leave files too: 30 of them, each for a commit the remote does not have.
            var refused: [Int32] = []
            for index in 0..<30 {
                let commit = String(format: "%08x", 0xdead0000 + index) + String(repeating: "0", count: 32)
                refused.append(try shipkeep(["deploy", "--commit", commit] + vm.controllerArguments).status)
            }
            #expect(refused.allSatisfy { $0 == 1 }, "\(refused)")
            let names = try FileManager.default.contentsOfDirectory(atPath: vm.stateDir + "/deploys")
            let ids = Set(names.compactMap { name in name.split(separator: ".").first.map(String.init) })
            #expect(ids.count <= 21, "\(ids.count) deploys keep files: \(ids.sorted())")
            #expect(ids.contains(kept), "the last deploy, whose snapshot is kept, keeps its journal")
            #expect(names.contains(kept + ".jsonl"))

            try ReliabilityRecord.hostileInput(
                id: "22-2", scenario: "deploy requests, refused ones too, each leaving a journal, plan, request and "
                    + "log in the state dir",
                injection: "one deploy, then 30 refused requests (`--commit` of commits the remote lacks)",
                outcome: "refusals \(HostileOutcome.exits(refused)); files of "
                    + "\(ids.count <= 21 ? "at most 21" : "\(ids.count)") "
                    + "deploys left (the newest 20 and the one whose snapshot is kept); the last deploy's journal "
                    + (names.contains(kept + ".jsonl") ? "kept" : "gone"),
                test: "WorkerBoundsTests/journalsPlansAndLogsOfOldDeploysArePruned()"
            ).write()
        }
    }
}
