import Foundation
import Testing
import ShipkeepSandbox

/// action.yml's own steps, run as the GitHub runner runs them (see ``ActionRunner``), against a real sshd sandbox,
/// with the `controller` input pointing at this build so no step compiles anything.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ActionStepsTests {
    /// A runner for `vm` with the inputs that reach it: the sandbox's address, its known_hosts lines as the
    /// `known-hosts` input, and its key as `ssh-key`.
    private func runner(_ vm: VMSandbox, inputs: [String: String] = [:]) throws -> ActionRunner {
        let workspace = vm.root + "/workspace"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        var all = ["host": vm.server.listenAddress, "port": String(vm.server.port), "user": vm.server.user,
                   "app": vm.appName, "ssh-key": try String(contentsOfFile: vm.server.userKeyPath, encoding: .utf8),
                   "known-hosts": try String(contentsOfFile: vm.server.knownHostsPath, encoding: .utf8),
                   "controller": try BuildProducts.path("shipkeep")]
        all.merge(inputs) { $1 }
        return ActionRunner(inputs: all, workspace: workspace)
    }

    @Test func aDeployWritesItsOutputsAndSummaryAndDownloadsItsSnapshot() throws {
        try withSandbox(bot: true) { vm in
            let before = try vm.liveCommit()
            let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            var action = try runner(vm)
            // The README's shipkeep.yml names a key file that only the laptop has; the key comes in `ssh-key`,
            // pasted from a Windows clipboard: CRLF line ends, trailing blanks, no final newline.
            try """
                targets:
                  prod:
                    host: \(vm.server.listenAddress)
                    port: \(vm.server.port)
                    user: \(vm.server.user)
                    app: \(vm.appName)
                    identity: ~/.ssh/deploy_ed25519

                """.write(toFile: action.workspace + "/shipkeep.yml", atomically: true, encoding: .utf8)
            for key in ["host", "port", "user", "app"] { action.inputs[key] = nil }
            let key = try #require(action.inputs["ssh-key"])
            action.inputs["ssh-key"] = key.trimmingCharacters(in: .newlines)
                .split(separator: "\n").map { $0 + "  \r" }.joined(separator: "\n")
            action.inputs["target"] = "prod"
            action.inputs["download"] = "backup/bots.tar.gz"
            action.sha = target

            let run = try action.run()
            #expect(run.status == 0, "\(run.log)")
            #expect(run.steps == ["Set up shipkeep", "Deploy"], "nothing installed or built: \(run.steps)")
            #expect(try vm.liveCommit() == target)
            #expect(run.outputs["commit"] == target, "\(run.outputs)")
            #expect(run.outputs["previous-commit"] == before)
            #expect(run.outputs["outcome"] == "succeeded")
            let deploy = try #require(run.outputs["deploy-id"])
            #expect(!deploy.isEmpty && run.log.contains("deploy \(deploy) of bots"), "\(run.log)")
            let snapshot = try #require(run.outputs["snapshot"])
            let snapshotDir = vm.snapshotDir + "/" + snapshot
            #expect(!snapshot.isEmpty && FileManager.default.fileExists(atPath: snapshotDir + "/manifest.json"))

            // The archive holds exactly the snapshot's files, byte for byte.
            let archive = try #require(run.outputs["download-path"])
            #expect(archive == action.workspace + "/backup/bots.tar.gz")
            let extracted = vm.root + "/extracted"
            try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
            let tar = try runProcess(["tar", "-xzf", archive, "-C", extracted])
            #expect(tar.status == 0, "\(tar.stderr)")
            // The snapshot's data dirs (its manifest.json and info.json are its own bookkeeping).
            let inSnapshot = try files(under: snapshotDir)
                .filter { path in vm.dataDirs.contains { path.hasPrefix($0 + "/") } }
            #expect(!inSnapshot.isEmpty && inSnapshot.contains("paper_trading_outputs/signals.jsonl"))
            #expect(try files(under: extracted) == inSnapshot)
            for file in inSnapshot {
                #expect(FileManager.default.contents(atPath: extracted + "/" + file)
                    == FileManager.default.contents(atPath: snapshotDir + "/" + file), "\(file)")
            }

            #expect(run.summary.contains("### shipkeep: deployed ✅"), "\(run.summary)")
            #expect(run.summary.contains("`\(target.prefix(12))`"))
            #expect(run.summary.contains("### shipkeep: snapshot downloaded ✅"))
            #expect(!run.log.contains("::error::"))
            #expect(!(run.log + run.summary).contains("PRIVATE KEY"), "no key material printed")
        }
    }

    @Test func aDownloadThatFailsFailsTheStepAfterTheDeploy() throws {
        try withSandbox(bot: true) { vm in
            var action = try runner(vm)
            action.sha = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            try "not a directory".write(toFile: action.workspace + "/backup", atomically: true, encoding: .utf8)
            action.inputs["download"] = "backup/bots.tar.gz"
            let run = try action.run()
            #expect(run.status == 1, "\(run.log)")
            #expect(try vm.liveCommit() == action.sha)
            #expect(run.outputs["outcome"] == "succeeded" && run.outputs["download-path"] == "", "\(run.outputs)")
            #expect(run.summary.contains("### shipkeep: deployed ✅"), "\(run.summary)")
            #expect(run.summary.contains("### shipkeep: download failed ❌"))
            #expect(run.log.split(separator: "\n").filter { $0.contains("backup/bots.tar.gz") }.count == 1,
                    "one error line: \(run.log)")
        }
    }

    @Test func anUnreachableVMGetsOneErrorASummaryAndAnOutcome() throws {
        try withSandbox { vm in
            let action = try runner(vm)
            vm.server.stop()
            let run = try action.run()
            #expect(run.status == 3, "\(run.log)")
            #expect(run.outputs["outcome"] == "unreachable", "\(run.outputs)")
            #expect(run.outputs["commit"] == "" && run.outputs["deploy-id"] == "")
            #expect(run.summary.contains("### shipkeep: the VM could not be asked ❌"), "\(run.summary)")
            #expect(run.summary.contains("| exit status | 3 |"))
            let errors = run.log.split(separator: "\n").filter { $0.contains("connection refused") }
            #expect(errors.count == 1 && errors.first?.hasPrefix("::error::") == true, "printed once: \(run.log)")
        }
    }

    @Test func aPublicKeyInSshKeyIsNamedBeforeConnecting() throws {
        try withSandbox { vm in
            let run = try runner(vm, inputs: ["ssh-key": vm.server.userPublicKeyLine + "\r\n"]).run()
            #expect(run.status == 3, "\(run.log)")
            let message = "SHIPKEEP_SSH_KEY does not hold a private key (it looks like a public key)"
            #expect(run.log.components(separatedBy: message).count == 2, "once: \(run.log)")
            #expect(run.log.contains("input `ssh-key`"))
            #expect(!run.log.contains("libssh2"))
            #expect(run.summary.contains("does not hold a private key"))
            #expect(!sshdSawAuthentication(vm.server.log()))
        }
    }

    @Test func errorsNameTheActionsInputsNotFlags() throws {
        try withSandbox { vm in
            let run = try runner(vm, inputs: ["app": ""]).run()
            #expect(run.status == 64, "\(run.log)")
            #expect(run.log.contains("::error::name the app: input `app`"), "\(run.log)")
            #expect(!run.log.contains("--app") && !run.log.contains("SHIPKEEP_APP"))
            #expect(run.outputs["outcome"] == "usage_error")

            let badCommit = try runner(vm, inputs: ["commit": "main"]).run()
            #expect(badCommit.status == 64, "\(badCommit.log)")
            #expect(badCommit.log.contains("input `commit` must be a commit id"), "\(badCommit.log)")
            #expect(badCommit.outputs["outcome"] == "usage_error")
            #expect(badCommit.summary.contains("deploy failed ❌ (usage error)"), "\(badCommit.summary)")
        }
    }

    @Test func aMissingIdentityIsSkippedOnlyWhenThereIsAnotherKey() throws {
        try withSandbox(bot: true) { vm in
            let key = try String(contentsOfFile: vm.server.userKeyPath, encoding: .utf8)
            var arguments = vm.controllerArguments
            let identity = try #require(arguments.firstIndex(of: "--identity"))
            arguments[identity + 1] = vm.root + "/no-such-key"
            let skipped = try shipkeep(["deploy", "--verbose"] + arguments, environment: ["SHIPKEEP_SSH_KEY": key])
            #expect(skipped.status == 0, "\(skipped.stderr)")
            #expect(skipped.stderr.contains("the identity file \(vm.root)/no-such-key (--identity) does not exist; "
                + "skipped"), "\(skipped.stderr)")

            let alone = try shipkeep(["deploy"] + arguments)
            #expect(alone.status == 64, "a key file that does not exist is a usage error: \(alone.stderr)")
            #expect(alone.stderr.contains("the identity file \(vm.root)/no-such-key (--identity) does not exist"),
                    "\(alone.stderr)")
        }
    }

    /// Paths of the regular files under `root`, relative to it.
    private func files(under root: String) throws -> Set<String> {
        var found: Set<String> = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory),
               !isDirectory.boolValue {
                found.insert(path)
            }
        }
        return found
    }
}
