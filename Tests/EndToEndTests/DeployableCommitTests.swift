import Foundation
import Testing
import ShipkeepSandbox

/// Which commits a deploy key can put live: a branch or tag (`--ref`), a commit the configured branch or an
/// `allow_refs` ref reaches (`--commit`), only signed ones under `require_signed` — never a pull request's
/// head, which on GitHub anyone can create. And `rollback` still goes back to the commit that was live.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct DeployableCommitTests {
    private func git(_ arguments: [String], in directory: String) throws -> String {
        let result = try runProcess(["git", "-C", directory, "-c", "user.name=Dev",
                                     "-c", "user.email=dev@example.invalid"] + arguments)
        guard result.status == 0 else { throw SandboxError("git \(arguments) failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Commits `files` in the developer clone on a detached HEAD (at `parent`, else main's tip; main stays where
    /// it is unless `ref` is main) and pushes the commit to `ref` on the origin. Signed with `signingKey` when given.
    private func commit(_ vm: VMSandbox, _ files: [String: String], message: String, to ref: String,
                        parent: String? = nil, signingKey: String? = nil) throws -> String {
        if ref != "refs/heads/main" {
            _ = try git(["checkout", "-q", "--detach"] + (parent.map { [$0] } ?? []), in: vm.developer)
        }
        for (path, content) in files {
            try content.write(toFile: vm.developer + "/" + path, atomically: false, encoding: .utf8)
            chmod(vm.developer + "/" + path, path.hasSuffix(".sh") ? 0o755 : 0o644)
        }
        _ = try git(["add", "-A"], in: vm.developer)
        let sign = signingKey.map { ["-c", "gpg.format=ssh", "-c", "user.signingkey=\($0)"] } ?? []
        _ = try git(sign + ["commit", "-q"] + (signingKey == nil ? [] : ["-S"]) + ["-m", message], in: vm.developer)
        let commit = try git(["rev-parse", "HEAD"], in: vm.developer)
        _ = try git(["push", "-q", "origin", "HEAD:" + ref], in: vm.developer)
        if ref != "refs/heads/main" { _ = try git(["checkout", "-q", "main"], in: vm.developer) }
        return commit
    }

    /// The sample restart script, touching `marker` first: the proof that a commit's code ran on the VM.
    private func restartTouching(_ marker: String) -> String {
        SampleApp.restart.replacingOccurrences(of: "set -u\n", with: "set -u\ntouch '\(marker)'\n")
    }

    /// Adds `lines` (already indented as keys of the app) to agent.yml's app.
    private func configure(_ vm: VMSandbox, _ lines: String) throws {
        let config = try String(contentsOfFile: vm.agentConfigPath, encoding: .utf8)
        try config.replacingOccurrences(of: "    branch: main\n", with: "    branch: main\n" + lines)
            .write(toFile: vm.agentConfigPath, atomically: false, encoding: .utf8)
    }

    private func deploy(_ vm: VMSandbox, _ arguments: [String]) throws -> (status: Int32, code: String?, text: String) {
        let result = try shipkeep(["deploy", "--json"] + arguments + vm.controllerArguments)
        let last = jsonLines(result.stdout).last { $0["type"] as? String == "result" }
        return (result.status, (last?["error"] as? [String: Any])?["code"] as? String, result.stderr)
    }

    @Test func aPullRequestRefAndTheCommitOnlyItReachesAreNotDeployed() throws {
        try withSandbox { vm in
            let marker = vm.root + "/pull-request-ran"
            let live = try vm.liveCommit()
            let pull = try commit(vm, ["restart.sh": restartTouching(marker)], message: "a fork's pull request",
                                  to: "refs/pull/1/head")
            var codes: [String?] = []
            for ref in ["refs/pull/1/head", "HEAD", "refs/remotes/origin/main", "refs/changes/01/1/1", "pull/1/head"] {
                let refused = try deploy(vm, ["--ref", ref])
                #expect(refused.status == 1, "\(ref): \(refused.text)")
                // A bare name means a branch or tag of that name: `pull/1/head` is looked up as one, not found.
                #expect(refused.code == (ref == "pull/1/head" ? "fetch" : "bad_ref"), "\(ref): \(refused.text)")
                codes.append(refused.code)
            }
            let byCommit = try deploy(vm, ["--commit", pull])
            #expect(byCommit.status == 1, "\(byCommit.text)")
            #expect(["unknown_commit", "unreachable"].contains(byCommit.code ?? ""), "\(byCommit.text)")
            codes.append(byCommit.code)
            let unchanged = try vm.liveCommit() == live
            #expect(unchanged)
            #expect(!FileManager.default.fileExists(atPath: marker), "the pull request's restart.sh ran")

            try ReliabilityRecord.hostileInput(
                id: "21-1", scenario: "a pull request's head (`refs/pull/1/head`, its code writes a marker) as "
                    + "`--ref` (also `HEAD`, `refs/remotes/…`, `refs/changes/…`, bare `pull/1/head`) and its "
                    + "commit as `--commit`",
                injection: "`shipkeep deploy` with the deploy key; the ref exists on the origin, off main",
                outcome: "each refused: \(HostileOutcome.codes(codes)); \(HostileOutcome.ran(marker)); "
                    + (unchanged ? "live commit unchanged" : "live commit changed"),
                test: "DeployableCommitTests/aPullRequestRefAndTheCommitOnlyItReachesAreNotDeployed()"
            ).write()
        }
    }

    @Test func olderCommitsTagsAndAllowedRefsDeploy() throws {
        try withSandbox { vm in
            let older = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            try vm.commit(["bot.sh": SampleApp.bot(version: "v3")], message: "v3")
            let reachable = try deploy(vm, ["--commit", older])
            #expect(reachable.status == 0, "an older commit on main: \(reachable.text)")
            #expect(try vm.liveCommit() == older)

            let tagged = try commit(vm, ["bot.sh": SampleApp.bot(version: "v9")], message: "v9", to: "refs/tags/v9")
            let tag = try deploy(vm, ["--ref", "v9"])
            #expect(tag.status == 0, "a tag: \(tag.text)")
            #expect(try vm.liveCommit() == tagged)

            // Two commits only release/1 reaches: the older one is first unknown here, then (once --ref release/1
            // has fetched it and main is live again) present but unreachable from main, then allowed.
            let release = try commit(vm, ["bot.sh": SampleApp.bot(version: "r1")], message: "r1",
                                     to: "refs/heads/release/1")
            let releaseTip = try commit(vm, ["bot.sh": SampleApp.bot(version: "r2")], message: "r2",
                                        to: "refs/heads/release/1", parent: release)
            let unknown = try deploy(vm, ["--commit", release])
            #expect(unknown.status == 1, "a commit only release/1 reaches, not allowed: \(unknown.text)")
            #expect(unknown.code == "unknown_commit", "\(unknown.text)")
            #expect(try vm.liveCommit() == tagged)
            #expect(try deploy(vm, ["--ref", "release/1"]).status == 0)
            #expect(try vm.liveCommit() == releaseTip)
            #expect(try deploy(vm, []).status == 0)
            let mainTip = try vm.liveCommit()
            let refused = try deploy(vm, ["--commit", release])
            #expect(refused.status == 1, "present but reachable only from release/1: \(refused.text)")
            #expect(refused.code == "unreachable", "\(refused.text)")
            let unchanged = try vm.liveCommit() == mainTip
            #expect(unchanged)
            try configure(vm, "    allow_refs: [refs/tags/v*, refs/heads/release/*]\n")
            let allowed = try deploy(vm, ["--commit", release])
            #expect(allowed.status == 0, "allowed by allow_refs: \(allowed.text)")
            #expect(try vm.liveCommit() == release)

            try ReliabilityRecord.hostileInput(
                id: "21-2", scenario: "`--commit` of a commit only `refs/heads/release/1` reaches (not fetched yet; "
                    + "then fetched by a `--ref release/1` deploy), then with `allow_refs: [refs/tags/v*, "
                    + "refs/heads/release/*]`; an older commit of main; a tag as `--ref`",
                injection: "`shipkeep deploy` with the deploy key",
                outcome: "without allow_refs refused: \(HostileOutcome.codes([unknown.code, refused.code])), "
                    + (unchanged ? "live commit unchanged; " : "live commit changed; ")
                    + "with it exit \(allowed.status); older commit exit \(reachable.status); tag exit \(tag.status)",
                test: "DeployableCommitTests/olderCommitsTagsAndAllowedRefsDeploy()"
            ).write()
        }
    }

    @Test func requireSignedDeploysOnlyCommitsSignedByAListedKey() throws {
        try withSandbox { vm in
            var keys: [String] = []
            for name in ["listed", "stranger"] {
                let path = vm.root + "/\(name)-signing-key"
                let made = try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path])
                #expect(made.status == 0, "\(made.stderr)")
                keys.append(path)
            }
            let listed = try String(contentsOfFile: keys[0] + ".pub", encoding: .utf8)
            let signers = vm.root + "/vm/etc/allowed_signers"
            try "dev@example.invalid namespaces=\"git\" \(listed)".write(toFile: signers, atomically: false,
                                                                          encoding: .utf8)
            chmod(signers, 0o644)
            try configure(vm, "    require_signed: \(signers)\n")
            let live = try vm.liveCommit()

            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "unsigned")
            let unsigned = try deploy(vm, [])
            #expect(unsigned.status == 1, "\(unsigned.text)")
            #expect(unsigned.code == "unsigned", "\(unsigned.text)")
            let stranger = try commit(vm, ["bot.sh": SampleApp.bot(version: "v3")], message: "signed by a stranger",
                                      to: "refs/heads/main", signingKey: keys[1])
            let unlisted = try deploy(vm, ["--commit", stranger])
            #expect(unlisted.status == 1, "\(unlisted.text)")
            #expect(unlisted.code == "unsigned", "\(unlisted.text)")
            let unchanged = try vm.liveCommit() == live
            #expect(unchanged)

            let signed = try commit(vm, ["bot.sh": SampleApp.bot(version: "v4")], message: "signed",
                                    to: "refs/heads/main", signingKey: keys[0])
            let good = try deploy(vm, [])
            #expect(good.status == 0, "\(good.text)")
            #expect(try vm.liveCommit() == signed)

            try ReliabilityRecord.hostileInput(
                id: "21-3", scenario: "`require_signed: allowed_signers`: an unsigned commit, one signed by an "
                    + "unlisted ssh key, one signed by a listed key",
                injection: "commits pushed to main, deployed with the deploy key",
                outcome: "unsigned and unlisted refused: \(HostileOutcome.codes([unsigned.code, unlisted.code])), "
                    + (unchanged ? "live commit unchanged" : "live commit changed") + "; listed exit \(good.status)",
                test: "DeployableCommitTests/requireSignedDeploysOnlyCommitsSignedByAListedKey()"
            ).write()
        }
    }

    @Test func rollbackGoesBackToTheCommitThatWasLiveEvenOffTheBranch() throws {
        try withSandbox { vm in
            let feature = try commit(vm, ["bot.sh": SampleApp.bot(version: "f1")], message: "feature",
                                     to: "refs/heads/feature")
            let first = try deploy(vm, ["--ref", "feature"])
            #expect(first.status == 0, "\(first.text)")
            #expect(try vm.liveCommit() == feature)
            let tip = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let second = try deploy(vm, [])
            #expect(second.status == 0, "\(second.text)")
            #expect(try vm.liveCommit() == tip)

            // The feature commit is on no ref the rules allow for --commit, but it was live before: the agent
            // recorded it, and rollback goes back to it.
            let rollback = try shipkeep(["rollback", "--json"] + vm.controllerArguments)
            #expect(rollback.status == 0, "\(rollback.stderr)")
            #expect(try vm.liveCommit() == feature)

            try ReliabilityRecord.hostileInput(
                id: "21-4", scenario: "`rollback` after a deploy whose previous commit only a feature branch reaches",
                injection: "`--ref feature`, then a deploy of main, then `shipkeep rollback`",
                outcome: "rollback exit \(rollback.status); "
                    + (try vm.liveCommit() == feature ? "the feature commit is live again" : "not rolled back"),
                test: "DeployableCommitTests/rollbackGoesBackToTheCommitThatWasLiveEvenOffTheBranch()"
            ).write()
        }
    }
}
