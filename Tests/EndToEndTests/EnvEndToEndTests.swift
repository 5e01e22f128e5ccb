import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep env` through a real sshd: secrets set from stdin and from the environment reach the bot at its next
/// restart (or at once with --restart), are listed by key only, and are refused when they are unsafe.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct EnvEndToEndTests {
    static let first = "first-7d1c0a93-value"
    /// Quotes, `$`, backquotes and a backslash: what the env file's quoting must carry through unchanged.
    static let second = #"p@ss "w$rd" `id` \ end-9e3f51"#

    /// The environment of the running bot, from /proc: what the service its restart script started sees.
    private func botEnvironment(_ vm: VMSandbox) throws -> [String: String] {
        let text = try String(contentsOfFile: vm.appPath + "/bot.pid", encoding: .utf8)
        let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        let data = try #require(FileManager.default.contents(atPath: "/proc/\(pid)/environ"), "bot \(pid) runs")
        var environment: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let equals = text.firstIndex(of: "=") else { continue }
            environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return environment
    }

    private func keys(_ output: ProcessResult) -> [String]? {
        jsonLines(output.stdout).last { $0["type"] as? String == "env" }?["keys"] as? [String]
    }

    @Test("set, list and unset: the bot sees each value after a restart; only keys are ever shown")
    func secretsReachTheBotAtTheNextRestart() throws {
        try withSandbox(bot: true) { vm in
            var outputs: [ProcessResult] = []
            func run(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
                let output = try shipkeep(arguments + vm.controllerArguments, environment: environment, stdin: stdin)
                #expect(output.status == 0, "\(arguments): \(output.stderr)\n\(output.stdout)",
                        sourceLocation: sourceLocation)
                outputs.append(output)
                return output
            }

            let empty = try run(["env", "list"])
            #expect(empty.stdout.contains("0 secret(s) of bots in \(vm.stateDir)/env"), "\(empty.stdout)")

            let set = try run(["env", "set", "EXCHANGE_KEY"], stdin: Self.first + "\n")
            #expect(set.stdout.contains("set EXCHANGE_KEY") && set.stdout.contains("next restart"), "\(set.stdout)")
            var info = stat()
            #expect(stat(vm.stateDir + "/env", &info) == 0 && info.st_mode & 0o777 == 0o600, "the env file is 0600")
            #expect(try botEnvironment(vm)["EXCHANGE_KEY"] == nil, "not before a restart")

            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            _ = try run(["deploy"])
            #expect(try botEnvironment(vm)["EXCHANGE_KEY"] == Self.first, "the deploy's restart passed it on")

            _ = try run(["env", "set", "EXCHANGE_KEY", "--from-env", "SOURCE_OF_KEY", "--restart"],
                        environment: ["SOURCE_OF_KEY": Self.second])
            #expect(try botEnvironment(vm)["EXCHANGE_KEY"] == Self.second, "--restart restarted it with the new value")
            _ = try run(["env", "set", "OTHER_KEY", "--json"], stdin: "other-value-1")
            let listed = try run(["env", "list", "--json"])
            #expect(keys(listed) == ["EXCHANGE_KEY", "OTHER_KEY"])
            #expect(jsonLines(listed.stdout).last?["ok"] as? Bool == true)

            let unset = try run(["env", "unset", "EXCHANGE_KEY", "--restart"])
            #expect(unset.stdout.contains("unset EXCHANGE_KEY"), "\(unset.stdout)")
            let after = try botEnvironment(vm)
            #expect(after["EXCHANGE_KEY"] == nil && after["OTHER_KEY"] == "other-value-1")
            #expect(keys(try run(["env", "list", "--json"])) == ["OTHER_KEY"])

            let text = outputs.map { $0.stdout + $0.stderr }.joined()
            for value in [Self.first, Self.second] {
                #expect(!text.contains(value), "a value was printed")
                #expect(!vm.server.log().contains(value), "a value is in sshd's log")
            }
        }
    }

    @Test("unsafe keys, values and env files are refused, and a deploy refuses to run with an unsafe file")
    func unsafeSecretsAreRefused() throws {
        try withSandbox(bot: true) { vm in
            let newline = try shipkeep(["env", "set", "K"] + vm.controllerArguments, stdin: "one\ntwo\n")
            #expect(newline.status == 64 && newline.stderr.contains("line break"), "\(newline.stderr)")
            let loader = try shipkeep(["env", "set", "LD_PRELOAD"] + vm.controllerArguments, stdin: "/x.so")
            #expect(loader.status == 64 && loader.stderr.contains("cannot set it"), "\(loader.stderr)")
            let nothing = try shipkeep(["env", "set", "K"] + vm.controllerArguments)
            #expect(nothing.status == 64 && nothing.stderr.contains("no value on stdin"), "\(nothing.stderr)")

            // agent.yml's env_keys narrows what a deploy key may set; the agent refuses the rest.
            try vm.writeAgentConfig()
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: vm.agentConfigPath))
            handle.seekToEndOfFile()
            handle.write(Data("    env_keys: [\"EXCHANGE_*\"]\n".utf8))
            try handle.close()
            let outside = try shipkeep(["env", "set", "OTHER_KEY"] + vm.controllerArguments, stdin: "v-1")
            #expect(outside.status == 1 && outside.stderr.contains("not in the app's env_keys"), "\(outside.stderr)")
            let inside = try shipkeep(["env", "set", "EXCHANGE_SECRET"] + vm.controllerArguments, stdin: "v-2")
            #expect(inside.status == 0, "\(inside.stderr)")

            chmod(vm.stateDir + "/env", 0o644)
            let listed = try shipkeep(["env", "list"] + vm.controllerArguments)
            #expect(listed.status == 1 && listed.stderr.contains("chmod 600"), "\(listed.stderr)")
            let live = try vm.liveCommit()
            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deploy = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(deploy.status == 1 && deploy.stderr.contains("chmod 600"), "\(deploy.stderr)")
            #expect((Faults.result(deploy.stdout)?["error"] as? [String: Any])?["code"] as? String == "env_file")
            #expect(try vm.liveCommit() == live, "nothing changed")
        }
    }

    @Test("the GitHub Action's Sync secrets step sets the secrets its env input names, from its environment")
    func theActionSyncsNamedSecrets() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let action = try String(contentsOf: root.appendingPathComponent("action.yml"), encoding: .utf8)
        let lines = action.components(separatedBy: "\n")
        let step = try #require(lines.firstIndex { $0.contains("- name: Sync secrets") })
        let run = try #require(lines[step...].firstIndex { $0.contains("run: |") })
        let script = lines[(run + 1)...].prefix { $0.hasPrefix("        ") }.map { String($0.dropFirst(8)) }
            .joined(separator: "\n")
        try withSandbox { vm in
            let environment = [
                "SHIPKEEP_BIN": try BuildProducts.path("shipkeep"), "SSH_AUTH_SOCK": "", "NO_COLOR": "1",
                "SHIPKEEP_SSH_CONFIG": "/dev/null", "SHIPKEEP_HOST": vm.server.listenAddress,
                "SHIPKEEP_PORT": String(vm.server.port), "SHIPKEEP_USER": vm.server.user, "SHIPKEEP_APP": vm.appName,
                "SHIPKEEP_IDENTITY": vm.server.userKeyPath, "SHIPKEEP_KNOWN_HOSTS": vm.server.knownHostsPath,
                "SHIPKEEP_SSH_KEY": "", "SHIPKEEP_FINGERPRINT": "", "SHIPKEEP_SSH_PASSPHRASE": "",
                "SHIPKEEP_CONFIG": "",
                "INPUT_TARGET": "", "INPUT_KNOWN_HOSTS": "", "INPUT_CONFIG": vm.root + "/none.yml",
                "INPUT_ENV": " EXCHANGE_KEY  EXCHANGE_SECRET ", "EXCHANGE_KEY": Self.first,
                "EXCHANGE_SECRET": Self.second,
            ]
            let synced = try runProcess(["bash", "-c", "set -eo pipefail\n" + script], environment: environment)
            #expect(synced.status == 0, "\(synced.stderr)")
            let printed = synced.stdout + synced.stderr
            #expect(!printed.contains(Self.first) && !printed.contains(Self.second), "a value was printed")
            let listed = try shipkeep(["env", "list", "--json"] + vm.controllerArguments)
            #expect(keys(listed) == ["EXCHANGE_KEY", "EXCHANGE_SECRET"])
            let file = try String(contentsOfFile: vm.stateDir + "/env", encoding: .utf8)
            #expect(file.contains("EXCHANGE_SECRET=\"p@ss \\\"w\\$rd\\\" \\`id\\` \\\\ end-9e3f51\""), "\(file)")
        }
    }
}
