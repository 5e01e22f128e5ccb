import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep deploy --push` from a developer's clone: push, then deploy exactly the commit pushed.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct PushDeployTests {
    private func git(_ arguments: [String], in directory: String) throws -> String {
        let result = try runProcess(["git", "-C", directory, "-c", "user.name=Dev", "-c", "user.email=dev@example.invalid"]
            + arguments)
        guard result.status == 0 else { throw SandboxError("git \(arguments) failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Commits a change to `bot.sh` in the developer clone without pushing it.
    private func commitLocally(_ vm: VMSandbox, version: String) throws -> String {
        try SampleApp.bot(version: version).write(toFile: vm.developer + "/bot.sh", atomically: false, encoding: .utf8)
        _ = try git(["commit", "-q", "-a", "-m", "bot \(version)"], in: vm.developer)
        return try git(["rev-parse", "HEAD"], in: vm.developer)
    }

    @Test func theCommitPushedIsTheCommitDeployedEvenWhenTheBranchMovesOn() throws {
        try withSandbox(bot: true) { vm in
            let local = try commitLocally(vm, version: "v2")
            // Another push lands right after ours: the origin moves main on to a child commit. A deploy of
            // "the tip of main" would take that one; --push must deploy exactly what it pushed.
            let hook = vm.origin + "/hooks/post-receive"
            try """
                #!/bin/sh
                while read old new ref; do
                  [ "$ref" = refs/heads/main ] || continue
                  export GIT_AUTHOR_NAME=racer GIT_AUTHOR_EMAIL=r@example.invalid
                  export GIT_COMMITTER_NAME=racer GIT_COMMITTER_EMAIL=r@example.invalid
                  next=$(git commit-tree -p "$new" -m "a racing push" "$new^{tree}")
                  git update-ref refs/heads/main "$next"
                done

                """.write(toFile: hook, atomically: true, encoding: .utf8)
            chmod(hook, 0o755)

            let output = try runProcess([try BuildProducts.path("shipkeep"), "deploy", "--push", "--json"]
                + vm.controllerArguments, cwd: vm.developer, environment: isolatedEnvironment)
            #expect(output.status == 0, "\(output.stderr)\n\(output.stdout.suffix(1500))")
            #expect(output.stderr.contains("deploying exactly \(local.prefix(12))"), "\(output.stderr)")
            let tip = try git(["rev-parse", "main"], in: vm.origin)
            #expect(tip != local, "the racing hook did not move main; git push said: \(output.stderr)")
            #expect(try git(["rev-parse", "main^"], in: vm.origin) == local, "our commit was not pushed")
            #expect(try vm.liveCommit() == local)
            let result = try #require(jsonLines(output.stdout).last)
            #expect(result["type"] as? String == "result" && result["ok"] as? Bool == true)
            #expect((result["deploy"] as? [String: Any])?["commit"] as? String == local)
        }
    }

    @Test func aDirtyTreeIsRefusedBeforePushingUnlessAllowedAndTheGitAliasWorks() throws {
        try withSandbox(bot: true) { vm in
            let live = try vm.liveCommit()
            let originTip = try git(["rev-parse", "main"], in: vm.origin)
            let local = try commitLocally(vm, version: "v2")
            try "# work in progress\n".write(toFile: vm.developer + "/check.sh", atomically: false, encoding: .utf8)

            let refused = try runProcess([try BuildProducts.path("shipkeep"), "deploy", "--push"]
                + vm.controllerArguments, cwd: vm.developer, environment: isolatedEnvironment)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("uncommitted changes (check.sh)"), "\(refused.stderr)")
            #expect(refused.stderr.contains("--allow-dirty"))
            #expect(refused.stderr.split(separator: "\n").count == 1, "not one line: \(refused.stderr)")
            #expect(try git(["rev-parse", "main"], in: vm.origin) == originTip, "pushed despite the refusal")
            #expect(try vm.liveCommit() == live)

            // The documented alias, with --allow-dirty: HEAD as committed is pushed and deployed.
            let command = ([try BuildProducts.path("shipkeep"), "deploy", "--push", "--allow-dirty"]
                + vm.controllerArguments).joined(separator: " ")
            _ = try git(["config", "alias.ship", "!" + command], in: vm.developer)
            let shipped = try runProcess(["git", "ship"], cwd: vm.developer, environment: isolatedEnvironment)
            #expect(shipped.status == 0, "\(shipped.stderr)\n\(shipped.stdout)")
            #expect(try vm.liveCommit() == local)
            #expect(try String(contentsOfFile: vm.developer + "/check.sh", encoding: .utf8) == "# work in progress\n")
        }
    }

    @Test func aRejectedPushDeploysNothing() throws {
        try withSandbox(bot: false) { vm in
            let live = try vm.liveCommit()
            _ = try commitLocally(vm, version: "v2")
            let hook = vm.origin + "/hooks/pre-receive"
            try "#!/bin/sh\necho 'main is frozen' >&2\nexit 1\n".write(toFile: hook, atomically: true, encoding: .utf8)
            chmod(hook, 0o755)
            let output = try runProcess([try BuildProducts.path("shipkeep"), "deploy", "--push", "--json"]
                + vm.controllerArguments, cwd: vm.developer, environment: isolatedEnvironment)
            #expect(output.status == 1, "\(output.stderr)")
            #expect(output.stderr.contains("main is frozen"), "git's own message is shown: \(output.stderr)")
            #expect(output.stderr.contains("nothing was deployed"))
            let result = try #require(jsonLines(output.stdout).last)
            #expect(result["ok"] as? Bool == false && result["exitCode"] as? Int == 1)
            #expect(try vm.liveCommit() == live)
        }
    }

    @Test func theSSHKeyAndItsPassphraseDoNotReachGitPush() throws {
        try withSandbox(bot: true) { vm in
            let local = try commitLocally(vm, version: "v2")
            // A pre-push hook stands for git push's hooks and helpers: it dumps the environment it was given.
            let dump = vm.root + "/pre-push-environment"
            let hook = vm.developer + "/.git/hooks/pre-push"
            try "#!/bin/sh\nenv > '\(dump)'\n".write(toFile: hook, atomically: true, encoding: .utf8)
            chmod(hook, 0o755)
            let key = try String(contentsOfFile: vm.server.userKeyPath, encoding: .utf8)
            let passphrase = "not-a-real-passphrase-4711"
            var environment = isolatedEnvironment
            environment["SHIPKEEP_SSH_KEY"] = key
            environment["SHIPKEEP_SSH_PASSPHRASE"] = passphrase
            let output = try runProcess([try BuildProducts.path("shipkeep"), "deploy", "--push", "--json"]
                + vm.controllerArguments, cwd: vm.developer, environment: environment)
            #expect(output.status == 0, "\(output.stderr)\n\(output.stdout.suffix(1500))")
            #expect(try vm.liveCommit() == local)
            let seen = try String(contentsOfFile: dump, encoding: .utf8)
            let keyLine = key.split(separator: "\n").dropFirst().first.map(String.init) ?? key
            let leaked = seen.contains("SHIPKEEP_SSH_KEY") || seen.contains(keyLine)
                || seen.contains("SHIPKEEP_SSH_PASSPHRASE") || seen.contains(passphrase)
            #expect(!leaked, "git push's hook saw the key or its passphrase")
            #expect(seen.contains("PATH="), "the hook got an environment at all: \(seen)")

            try ReliabilityRecord.hostileInput(
                id: "21-6", scenario: "`deploy --push` with `SHIPKEEP_SSH_KEY` and `SHIPKEEP_SSH_PASSPHRASE` set: "
                    + "what `git push`, its hooks and helpers see",
                injection: "a `pre-push` hook in the developer's clone dumps its environment",
                outcome: "deploy exit \(output.status); "
                    + (leaked ? "the key or passphrase reached the hook" : "neither the key nor the passphrase reached "
                        + "the hook"),
                test: "PushDeployTests/theSSHKeyAndItsPassphraseDoNotReachGitPush()"
            ).write()
        }
    }

    @Test func aFeatureBranchIsRefusedBeforePushingUnlessAllowed() throws {
        try withSandbox(bot: true) { vm in
            let live = try vm.liveCommit()
            _ = try git(["checkout", "-q", "-b", "feature/x"], in: vm.developer)
            let feature = try commitLocally(vm, version: "v2-feature")
            let shipkeepPath = try BuildProducts.path("shipkeep")

            let refused = try runProcess([shipkeepPath, "deploy", "--push"] + vm.controllerArguments,
                                         cwd: vm.developer, environment: isolatedEnvironment)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("refusing to push feature/x: bots deploys main"), "\(refused.stderr)")
            #expect(refused.stderr.contains("--allow-branch") && refused.stderr.contains("nothing was pushed"))
            #expect(refused.stderr.split(separator: "\n").count == 1, "not one line: \(refused.stderr)")
            let branches = try git(["for-each-ref", "--format=%(refname)", "refs/heads/"], in: vm.origin)
            #expect(branches == "refs/heads/main", "the origin changed: \(branches)")
            #expect(try vm.liveCommit() == live)

            // An unknown app is refused before pushing too.
            var unknown = vm.controllerArguments
            unknown[unknown.firstIndex(of: "--app")! + 1] = "nope"
            let noApp = try runProcess([shipkeepPath, "deploy", "--push", "--allow-branch"] + unknown,
                                       cwd: vm.developer, environment: isolatedEnvironment)
            #expect(noApp.status == 64 && noApp.stderr.contains("nothing was pushed"), "\(noApp.stderr)")
            #expect(try git(["for-each-ref", "--format=%(refname)", "refs/heads/"], in: vm.origin) == "refs/heads/main")

            // --allow-branch pushes it; the agent deploys it because agent.yml's allow_refs lists the branch.
            try vm.addAgentConfigLines(["allow_refs: [refs/heads/feature/*]"])
            let allowed = try runProcess([shipkeepPath, "deploy", "--push", "--allow-branch"] + vm.controllerArguments,
                                         cwd: vm.developer, environment: isolatedEnvironment)
            #expect(allowed.status == 0, "\(allowed.stderr)\n\(allowed.stdout)")
            #expect(try git(["rev-parse", "refs/heads/feature/x"], in: vm.origin) == feature)
            #expect(try vm.liveCommit() == feature)
        }
    }

    @Test func editsOnTheVMAreRefusedBeforePushingUnlessForced() throws {
        try withSandbox(bot: true) { vm in
            let originTip = try git(["rev-parse", "main"], in: vm.origin)
            let local = try commitLocally(vm, version: "v2")
            try "# edited on the VM\n".write(toFile: vm.appPath + "/README.md", atomically: false, encoding: .utf8)
            let refused = try runProcess([try BuildProducts.path("shipkeep"), "deploy", "--push"]
                + vm.controllerArguments, cwd: vm.developer, environment: isolatedEnvironment)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("modified on the VM (README.md)") && refused.stderr.contains("--force"),
                    "\(refused.stderr)")
            #expect(try git(["rev-parse", "main"], in: vm.origin) == originTip, "pushed despite the refusal")
            let forced = try runProcess([try BuildProducts.path("shipkeep"), "deploy", "--push", "--force"]
                + vm.controllerArguments, cwd: vm.developer, environment: isolatedEnvironment)
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(try vm.liveCommit() == local)
        }
    }

    private var isolatedEnvironment: [String: String] {
        ["SSH_AUTH_SOCK": "", "NO_COLOR": "1", "SHIPKEEP_SSH_CONFIG": "/dev/null"]
    }
}
