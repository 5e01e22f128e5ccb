import Foundation
import Testing
import ShipkeepSandbox

/// Key text, passphrases and secrets in the environment never show up in what shipkeep prints, in the
/// agent's journals, records and logs on the VM, or in sshd's log — in text, `--json` and `--verbose` output,
/// for successful runs and for failed authentication.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SecretLeakTests {
    private static let passphrase = "correct-horse-7f3a91c2-passphrase"
    private static let wrongPassphrase = "wrong-battery-51be0d77-passphrase"
    private static let controllerSecret = "controller-secret-0b9e44d1c3"
    private static let agentSecret = "agent-secret-6c2d8e5a17"

    /// The private key's base64 body lines: any one of them in an output is a leak.
    private func bodyLines(_ keyPath: String) throws -> [String] {
        try String(contentsOfFile: keyPath, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("-----") && $0.count >= 16 }.map(String.init)
    }

    /// Every regular file below `dir`, as text.
    private func files(under dir: String) -> [(String, String)] {
        guard let walker = FileManager.default.enumerator(atPath: dir) else { return [] }
        var found: [(String, String)] = []
        for case let relative as String in walker {
            var info = stat()
            let path = dir + "/" + relative
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size < 8 << 20,
                  let data = FileManager.default.contents(atPath: path) else { continue }
            found.append((path, String(decoding: data, as: UTF8.self)))
        }
        return found
    }

    @Test func keysPassphrasesAndEnvironmentSecretsNeverAppear() throws {
        try withSandbox(bot: true) { vm in
            let encrypted = vm.root + "/encrypted_key"
            let made = try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", Self.passphrase, "-C", "enc",
                                       "-f", encrypted])
            try #require(made.status == 0, "\(made.stderr)")
            // This key's forced command gives the agent a secret in its environment, from a wrapper script (sshd
            // logs the forced command itself, so the secret must not be in it) that records the environment it
            // hands the agent outside the searched places: proof the secret reached the VM.
            let wrapper = vm.root + "/agent-with-secret.sh"
            let agentEnv = vm.root + "/agent-env.txt"
            try "#!/bin/sh\nexport SHIPKEEP_AGENT_TEST_SECRET=\(Self.agentSecret)\nenv > '\(agentEnv)'\nexec "
                .appending("'\(vm.agentBinary)' serve --config '\(vm.agentConfigPath)'\n")
                .write(toFile: wrapper, atomically: false, encoding: .utf8)
            chmod(wrapper, 0o700)
            try vm.server.authorize(publicKeyLine: try String(contentsOfFile: encrypted + ".pub", encoding: .utf8),
                                    forcedCommand: wrapper)
            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            // A hook that records its environment outside the searched places: the agent's secret must not reach
            // it (hooks get an allow-listed environment).
            let hookEnv = vm.root + "/hook-env.txt"
            try vm.writeAgentConfig(hooks: [["sh", "-c", "env > \(hookEnv)"]])
            var target = vm.controllerArguments
            let identity = try #require(target.firstIndex(of: "--identity"))
            target.removeSubrange(identity...(identity + 1))
            let plainText = try String(contentsOfFile: vm.server.userKeyPath, encoding: .utf8)
            let encryptedText = try String(contentsOfFile: encrypted, encoding: .utf8)
            let secrets = ["SHIPKEEP_TEST_SECRET": Self.controllerSecret]

            let runs: [(name: String, arguments: [String], environment: [String: String], ok: Bool)] = [
                ("status, key text", ["status"], ["SHIPKEEP_SSH_KEY": plainText], true),
                ("status --json --verbose, encrypted key text", ["status", "--json", "--verbose"],
                 ["SHIPKEEP_SSH_KEY": encryptedText, "SHIPKEEP_SSH_PASSPHRASE": Self.passphrase], true),
                ("deploy --verbose, encrypted key file", ["deploy", "--verbose", "--identity", encrypted],
                 ["SHIPKEEP_SSH_PASSPHRASE": Self.passphrase], true),
                ("deploy --json --verbose, encrypted key text", ["deploy", "--json", "--verbose", "--commit",
                                                                  try vm.liveCommit()],
                 ["SHIPKEEP_SSH_KEY": encryptedText, "SHIPKEEP_SSH_PASSPHRASE": Self.passphrase], true),
                ("status --verbose, wrong passphrase", ["status", "--verbose"],
                 ["SHIPKEEP_SSH_KEY": encryptedText, "SHIPKEEP_SSH_PASSPHRASE": Self.wrongPassphrase], false),
                ("status --json, encrypted key without passphrase", ["status", "--json", "--identity", encrypted],
                 [:], false),
            ]
            var outputs: [(String, String)] = []
            for run in runs {
                let result = try shipkeep(run.arguments + target, environment: secrets.merging(run.environment) { $1 })
                #expect((result.status == 0) == run.ok, "\(run.name): exit \(result.status): \(result.stderr)")
                outputs.append(("\(run.name) stdout", result.stdout))
                outputs.append(("\(run.name) stderr", result.stderr))
            }
            // The agent secret really reached the agent's side (so its absence below means something), and went
            // no further than the agent.
            let reached = try String(contentsOfFile: agentEnv, encoding: .utf8).contains(Self.agentSecret)
            #expect(reached)
            let passedOn = try String(contentsOfFile: hookEnv, encoding: .utf8).contains(Self.agentSecret)
            #expect(!passedOn, "the agent's environment reached the hook")
            let deployLogs = files(under: vm.stateDir + "/deploys").filter { $0.0.hasSuffix(".log") }
            #expect(!deployLogs.isEmpty, "the workers' logs are searched too")

            let needles = [Self.passphrase, Self.wrongPassphrase, Self.controllerSecret, Self.agentSecret]
                + (try bodyLines(vm.server.userKeyPath)) + (try bodyLines(encrypted))
            let haystacks = outputs + files(under: vm.stateDir) + [("sshd log", vm.server.log())]
            #expect(haystacks.count > 14, "searched \(haystacks.map(\.0))")
            var leaks = 0
            for (place, text) in haystacks {
                for needle in needles where text.contains(needle) {
                    Issue.record("\(place) contains secret text \(needle.prefix(6))…")
                    leaks += 1
                }
            }

            try ReliabilityRecord.hostileInput(
                id: "14", scenario: "key text, passphrases (right and wrong) and secrets in the environment of the "
                    + "controller and of the agent",
                injection: "\(runs.count) runs of status and deploy (text, `--json`, `--verbose`; key text or an "
                    + "encrypted key file; \(runs.filter { !$0.ok }.count) failing authentication)",
                outcome: (leaks == 0 ? "found nowhere" : "\(leaks) leaks")
                    + " in outputs, journals, records, worker logs and sshd's log; the agent secret "
                    + (reached ? "did reach the agent" : "never reached the agent")
                    + (passedOn ? ", and the hook's environment" : ", not the hook's environment"),
                test: "SecretLeakTests/keysPassphrasesAndEnvironmentSecretsNeverAppear()"
            ).write()
        }
    }

    private static let appSecret = "app-secret-4f1e9b27 \"quoted\" $dollar"
    private static let newSecret = "app-secret-rotated-83c6d0a5"

    /// The SHA-256 of `text`, as `sha256sum` prints it: proof a child saw a value without the value being written.
    private func sha256(_ text: String) throws -> String {
        try runProcess(["sha256sum"], stdin: text).stdout.split(separator: " ").first.map(String.init) ?? ""
    }

    private func proof(_ path: String) -> String {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: " ").first.map(String.init) ?? ""
    }

    @Test func appSecretsReachHooksAndServicesButNoOutputLogOrArgv() throws {
        try withSandbox(bot: true) { vm in
            let proofs = vm.root + "/proofs"
            try FileManager.default.createDirectory(atPath: proofs, withIntermediateDirectories: true)
            // A hook and a restart script that print the secret (as `set -x` or a careless echo would) and leave
            // its hash, and the argv of every process running during the restart, outside the searched places.
            try vm.writeAgentConfig(hooks: [["sh", "-c", "echo hook key $EXCHANGE_KEY; printf %s \\\"$EXCHANGE_KEY\\\" "
                + "| sha256sum > \(proofs)/hook"]])
            let restart = "#!/usr/bin/env bash\necho \"restarting with key ${EXCHANGE_KEY:-none}\"\n"
                + "printf %s \"${EXCHANGE_KEY:-}\" | sha256sum > \(proofs)/restart\nps -eo args > \(proofs)/ps-$$\n"
                + SampleApp.restart
            try vm.commit(["restart.sh": restart], message: "a restart script that prints the key")
            let target = vm.controllerArguments
            let runs: [(name: String, arguments: [String], environment: [String: String], stdin: String?, ok: Bool)] = [
                ("env set from stdin", ["env", "set", "EXCHANGE_KEY"], [:], Self.appSecret + "\n", true),
                ("env list --verbose", ["env", "list", "--verbose"], [:], nil, true),
                ("deploy --verbose", ["deploy", "--verbose"], [:], nil, true),
                ("deploy --json --verbose", ["deploy", "--json", "--verbose", "--commit", "HEAD_PLACEHOLDER"], [:], nil,
                 true),
                ("env set --from-env --restart --json --verbose",
                 ["env", "set", "EXCHANGE_KEY", "--from-env", "ROTATED", "--restart", "--json", "--verbose"],
                 ["ROTATED": Self.newSecret], nil, true),
                ("env set of a two-line value", ["env", "set", "OTHER"], [:], Self.newSecret + "\nsecond line\n",
                 false),
                ("status --json --verbose", ["status", "--json", "--verbose"], [:], nil, true),
                ("history --json", ["history", "--json"], [:], nil, true),
                ("history", ["history"], [:], nil, true),
                ("env unset --restart", ["env", "unset", "EXCHANGE_KEY", "--restart", "--verbose"], [:], nil, true),
            ]
            var outputs: [(String, String)] = []
            for run in runs {
                var arguments = run.arguments
                if let index = arguments.firstIndex(of: "HEAD_PLACEHOLDER") { arguments[index] = try vm.liveCommit() }
                let result = try shipkeep(arguments + target, environment: run.environment, stdin: run.stdin)
                #expect((result.status == 0) == run.ok, "\(run.name): exit \(result.status): \(result.stderr)")
                outputs.append(("\(run.name) stdout", result.stdout))
                outputs.append(("\(run.name) stderr", result.stderr))
            }
            // The values did reach the hook and the services (so their absence below means something)…
            #expect(proof(proofs + "/hook") == (try sha256(Self.appSecret)), "the hook got the secret")
            let restarted = outputs.first { $0.0 == "env set --from-env --restart --json --verbose stdout" }?.1 ?? ""
            #expect(restarted.contains("restarting with key ***"), "the restart script's echo is masked: \(restarted)")
            #expect(outputs.contains { $0.1.contains("hook key ***") }, "the hook's echo is masked")
            let psFiles = ((try? FileManager.default.contentsOfDirectory(atPath: proofs)) ?? [])
                .filter { $0.hasPrefix("ps-") }.map { proofs + "/" + $0 }
            #expect(psFiles.count >= 3, "argv captured at each restart: \(psFiles)")
            // …and nowhere else: not in outputs, journals, history, records, logs, sshd's log or any process argv.
            let stateFiles = files(under: vm.stateDir).filter { $0.0 != vm.stateDir + "/env" }
            #expect(stateFiles.contains { $0.0.hasSuffix("history.jsonl") })
            let argv = psFiles.compactMap { path in
                (try? String(contentsOfFile: path, encoding: .utf8)).map { ("argv \(path)", $0) }
            }
            let haystacks = outputs + stateFiles + argv + [("sshd log", vm.server.log())]
            var leaks = 0
            for (place, text) in haystacks {
                for needle in [Self.appSecret, Self.newSecret] where text.contains(needle) {
                    Issue.record("\(place) contains the secret \(needle.prefix(12))…")
                    leaks += 1
                }
            }

            try ReliabilityRecord.hostileInput(
                id: "14-1", scenario: "an app's secrets (`shipkeep env`), printed by its hook and its restart script",
                injection: "\(runs.count) runs of env set (stdin, `--from-env`, `--restart`), env list and unset, "
                    + "deploy, status and history (text, `--json`, `--verbose`); a two-line value",
                outcome: (leaks == 0 ? "found nowhere" : "\(leaks) leaks")
                    + " in outputs, journals, history, records, worker logs, sshd's log and the argv of every process "
                    + "during each restart; the hook and the restart script got the values, their echoes show `***`",
                test: "SecretLeakTests/appSecretsReachHooksAndServicesButNoOutputLogOrArgv()"
            ).write()
        }
    }
}
