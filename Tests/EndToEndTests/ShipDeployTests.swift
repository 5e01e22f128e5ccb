import Foundation
import Testing
import ShipkeepSandbox

/// `shipkeep deploy --ship`: the commit travels over the SSH session as a git bundle, so the VM needs no route to
/// the git host — and because such a commit need be on no git host, the agent takes one only where agent.yml says
/// `ship: true`, within `ship_max_bytes`, verified by git, and signed where `require_signed` says so.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ShipDeployTests {
    private func git(_ arguments: [String], in directory: String) throws -> String {
        let result = try runProcess(["git", "-C", directory, "-c", "user.name=Dev",
                                     "-c", "user.email=dev@example.invalid"] + arguments)
        guard result.status == 0 else { throw SandboxError("git \(arguments) failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Adds `lines` (already indented as keys of the app) to agent.yml's app.
    private func configure(_ vm: VMSandbox, _ lines: String) throws {
        let config = try String(contentsOfFile: vm.agentConfigPath, encoding: .utf8)
        try config.replacingOccurrences(of: "    branch: main\n", with: "    branch: main\n" + lines)
            .write(toFile: vm.agentConfigPath, atomically: false, encoding: .utf8)
    }

    /// Points the VM's clone at an origin that does not exist: every fetch there fails.
    private func cutOrigin(_ vm: VMSandbox) throws {
        _ = try git(["remote", "set-url", "origin", vm.root + "/nowhere/origin.git"], in: vm.appPath)
    }

    /// Commits a new `bot.sh` (and `files`) in `clone` without pushing it.
    private func commitLocally(_ clone: String, version: String, files: [String: String] = [:],
                               signingKey: String? = nil) throws -> String {
        try SampleApp.bot(version: version).write(toFile: clone + "/bot.sh", atomically: false, encoding: .utf8)
        for (path, content) in files {
            try content.write(toFile: clone + "/" + path, atomically: false, encoding: .utf8)
        }
        _ = try git(["add", "-A"], in: clone)
        let sign = signingKey.map { ["-c", "gpg.format=ssh", "-c", "user.signingkey=\($0)"] } ?? []
        _ = try git(sign + ["commit", "-q"] + (signingKey == nil ? [] : ["-S"]) + ["-m", "bot \(version)"], in: clone)
        return try git(["rev-parse", "HEAD"], in: clone)
    }

    private struct Outcome {
        var status: Int32
        var code: String?
        var stderr: String
        var stdout: String
    }

    /// `shipkeep deploy --json ARGUMENTS` run in `clone`.
    private func deploy(_ vm: VMSandbox, _ arguments: [String], in clone: String,
                        target: [String]? = nil) throws -> Outcome {
        let result = try runProcess([try BuildProducts.path("shipkeep"), "deploy", "--json"] + arguments
            + (target ?? vm.controllerArguments), cwd: clone, environment: isolatedEnvironment)
        let last = jsonLines(result.stdout).last { $0["type"] as? String == "result" }
        return Outcome(status: result.status, code: (last?["error"] as? [String: Any])?["code"] as? String,
                       stderr: result.stderr, stdout: result.stdout)
    }

    /// What a shipped deploy may leave in the state dir: nothing, once it has ended.
    private func leftoverBundles(_ vm: VMSandbox) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: vm.stateDir + "/deploys")) ?? []
        return names.filter { $0.contains(".bundle") }
    }

    @Test func aVMWhoseOriginIsUnreachableGetsTheExactCommitShipped() throws {
        try withSandbox(bot: true) { vm in
            try configure(vm, "    ship: true\n")
            try cutOrigin(vm)
            let live = try vm.liveCommit()
            let local = try commitLocally(vm.developer, version: "v2")

            // Without --ship the VM must fetch, and cannot.
            let fetched = try deploy(vm, ["--commit", local], in: vm.developer)
            #expect(fetched.status == 1 && fetched.code == "fetch", "\(fetched.stderr)")
            #expect(try vm.liveCommit() == live)

            let first = try deploy(vm, ["--ship"], in: vm.developer)
            #expect(first.status == 0, "\(first.stderr)\n\(first.stdout.suffix(1500))")
            #expect(try vm.liveCommit() == local)
            #expect(first.stderr.contains("shipping \(local.prefix(12))"), "\(first.stderr)")
            let result = try #require(jsonLines(first.stdout).last)
            #expect((result["deploy"] as? [String: Any])?["commit"] as? String == local)

            // The second ship builds on what the VM has now: only the new objects travel.
            let next = try commitLocally(vm.developer, version: "v3")
            let second = try deploy(vm, ["--ship", "--commit", next], in: vm.developer)
            #expect(second.status == 0, "\(second.stderr)\n\(second.stdout.suffix(1500))")
            #expect(second.stderr.contains("on top of"), "\(second.stderr)")
            #expect(try vm.liveCommit() == next)
            #expect(try git(["rev-parse", "refs/shipkeep/shipped"], in: vm.appPath) == next)
            #expect(leftoverBundles(vm).isEmpty, "\(leftoverBundles(vm))")
            #expect(try git(["status", "--porcelain", "--untracked-files=no"], in: vm.appPath).isEmpty)
        }
    }

    @Test func aForcePushedHistoryShipsFromAShallowCheckoutAsInCI() throws {
        try withSandbox(bot: true) { vm in
            try configure(vm, "    ship: true\n")
            let old = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            #expect(try deploy(vm, [], in: vm.developer).status == 0)
            #expect(try vm.liveCommit() == old)

            // The history is rewritten: the VM's commit is on no branch of the origin any more.
            _ = try git(["reset", "-q", "--hard", "HEAD~1"], in: vm.developer)
            let rewritten = try commitLocally(vm.developer, version: "v2-rewritten")
            _ = try git(["push", "-q", "--force", "origin", "HEAD:main"], in: vm.developer)
            try cutOrigin(vm)

            // A CI checkout: one commit deep, knowing nothing the VM has.
            let checkout = vm.root + "/ci-checkout"
            _ = try git(["clone", "-q", "--depth", "1", "file://" + vm.origin, checkout], in: vm.root)
            #expect(try git(["rev-parse", "--is-shallow-repository"], in: checkout) == "true")
            let shipped = try deploy(vm, ["--ship"], in: checkout)
            #expect(shipped.status == 0, "\(shipped.stderr)\n\(shipped.stdout.suffix(1500))")
            #expect(shipped.stderr.contains("git fetch --unshallow"), "\(shipped.stderr)")
            #expect(shipped.stderr.contains("whole history"), "\(shipped.stderr)")
            #expect(try vm.liveCommit() == rewritten)
            #expect(leftoverBundles(vm).isEmpty)
        }
    }

    @Test func withoutShipTrueInAgentYmlNothingIsShippedOrChanged() throws {
        try withSandbox { vm in
            let live = try vm.liveCommit()
            let local = try commitLocally(vm.developer, version: "v2")
            let refused = try deploy(vm, ["--ship"], in: vm.developer)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.code == "ship_not_allowed", "\(refused.stderr)")
            #expect(refused.stderr.contains("ship: true"), "\(refused.stderr)")
            #expect(try vm.liveCommit() == live)

            // `ship: true` for the target in shipkeep.yml ships as --ship does: refused here alike.
            let file = vm.root + "/shipkeep.yml"
            try ("targets:\n" + vm.targetYAML("prod", extra: [("ship", "true")]))
                .write(toFile: file, atomically: false, encoding: .utf8)
            let byConfig = try deploy(vm, [], in: vm.developer, target: ["prod", "--config", file])
            #expect(byConfig.status == 1 && byConfig.code == "ship_not_allowed", "\(byConfig.stderr)")
            #expect(try vm.liveCommit() == live)
            #expect((try? git(["cat-file", "-e", local + "^{commit}"], in: vm.appPath)) == nil,
                    "the refused commit's objects reached the VM")
            #expect(leftoverBundles(vm).isEmpty)
        }
    }

    @Test func aGroupIsNotShippedToAndNothingConnects() throws {
        try withSandbox { vm in
            try configure(vm, "    ship: true\n")
            let live = try vm.liveCommit()
            _ = try commitLocally(vm.developer, version: "v2")
            let file = vm.root + "/shipkeep.yml"
            try ("targets:\n" + vm.targetYAML("a") + vm.targetYAML("b", extra: [("ship", "true")])
                + "groups:\n  both: [a, b]\n").write(toFile: file, atomically: false, encoding: .utf8)
            for arguments in [["--ship"], []] {
                let refused = try deploy(vm, arguments, in: vm.developer, target: ["both", "--config", file])
                #expect(refused.status != 0, "\(refused.stderr)")
                #expect(refused.stderr.contains("--ship deploys one target at a time"), "\(refused.stderr)")
            }
            #expect(try vm.liveCommit() == live)
            #expect(!sshdSawAuthentication(vm.server.log()), "a refused group deploy connected")
        }
    }

    @Test func aBundleOverShipMaxBytesIsRefusedByTheControllerAndByTheAgent() throws {
        try withSandbox { vm in
            try configure(vm, "    ship: true\n    ship_max_bytes: 4096\n")
            let live = try vm.liveCommit()
            var random = [UInt8](repeating: 0, count: 48 * 1024)
            for index in random.indices { random[index] = UInt8.random(in: 0...255) }
            let local = try commitLocally(vm.developer, version: "v2",
                                          files: ["model.txt": Data(random).base64EncodedString()])
            let refused = try deploy(vm, ["--ship"], in: vm.developer)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.code == "ship_too_large", "\(refused.stderr)")
            #expect(try vm.liveCommit() == live)

            // A controller that announces too much is refused before a byte is taken; one that sends more
            // than it announced is cut off, its partial file removed.
            let announced = try agent(vm, [deployLine(commit: local, ship: 100_000)])
            #expect(errorCode(announced) == "ship_too_large", "\(announced.stdout)")
            let overflowing = try agent(vm, [deployLine(commit: local, ship: 10),
                                             chunkLine(Array(repeating: 1, count: 20))])
            #expect(overflowing.status == 2, "\(overflowing.stdout)")
            #expect(errorCode(overflowing) == "invalid_message", "\(overflowing.stdout)")
            #expect(try vm.liveCommit() == live)
            #expect(leftoverBundles(vm).isEmpty, "\(leftoverBundles(vm))")
        }
    }

    @Test func aCorruptedBundleIsRefusedByGitOnTheVMWithNothingChanged() throws {
        try withSandbox { vm in
            try configure(vm, "    ship: true\n")
            let live = try vm.liveCommit()
            let local = try commitLocally(vm.developer, version: "v2",
                                          files: ["notes.txt": String(repeating: "a line of notes\n", count: 2000)])
            _ = try git(["update-ref", "refs/shipkeep/shipped", local], in: vm.developer)
            let file = vm.root + "/ship.bundle"
            _ = try git(["bundle", "create", "-q", file, "refs/shipkeep/shipped", "^" + live], in: vm.developer)
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            // Past the header ("…refs/shipkeep/shipped\n\n"), into the pack's compressed objects.
            let header = try #require(bytes.indices.first { bytes[$0] == 0x0A && bytes[$0 + 1] == 0x0A }) + 2
            for offset in stride(from: header + 40, to: bytes.count - 30, by: 97) { bytes[offset] ^= 0x5A }
            let chunks = stride(from: 0, to: bytes.count, by: 4096).map { start in
                chunkLine(Array(bytes[start..<min(start + 4096, bytes.count)]))
            }
            let lines = [deployLine(commit: local, ship: Int64(bytes.count))] + chunks
            let output = try agent(vm, lines)
            #expect(errorCode(output) == "ship_rejected", "\(output.stdout.suffix(2000))")
            #expect(try vm.liveCommit() == live)
            #expect((try? git(["cat-file", "-e", local + "^{commit}"], in: vm.appPath)) == nil,
                    "the corrupted bundle's commit is in the VM's clone")
            #expect(try git(["for-each-ref", "refs/shipkeep/"], in: vm.appPath).isEmpty)
            #expect(try git(["status", "--porcelain", "--untracked-files=no"], in: vm.appPath).isEmpty)
            #expect(leftoverBundles(vm).isEmpty, "\(leftoverBundles(vm))")
        }
    }

    @Test func requireSignedRefusesAnUnsignedShippedCommitAndTakesASignedOne() throws {
        try withSandbox { vm in
            let key = vm.root + "/signing-key"
            let made = try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dev", "-f", key])
            #expect(made.status == 0, "\(made.stderr)")
            let signers = vm.root + "/vm/etc/allowed_signers"
            try "dev@example.invalid namespaces=\"git\" \(try String(contentsOfFile: key + ".pub", encoding: .utf8))"
                .write(toFile: signers, atomically: false, encoding: .utf8)
            chmod(signers, 0o644)
            try configure(vm, "    ship: true\n    require_signed: \(signers)\n")
            try cutOrigin(vm)
            let live = try vm.liveCommit()

            _ = try commitLocally(vm.developer, version: "v2")
            let unsigned = try deploy(vm, ["--ship"], in: vm.developer)
            #expect(unsigned.status == 1, "\(unsigned.stderr)")
            #expect(unsigned.code == "unsigned", "\(unsigned.stderr)")
            #expect(try vm.liveCommit() == live)
            // The refused commit is on no ref of the VM's clone: nothing builds on it, and gc drops its objects.
            #expect(try git(["for-each-ref", "refs/shipkeep/"], in: vm.appPath).isEmpty)

            let signed = try commitLocally(vm.developer, version: "v3", signingKey: key)
            let good = try deploy(vm, ["--ship"], in: vm.developer)
            #expect(good.status == 0, "\(good.stderr)\n\(good.stdout.suffix(1500))")
            #expect(try vm.liveCommit() == signed)
        }
    }

    // MARK: - The protocol by hand, through OpenSSH's client

    private func deployLine(commit: String, ship: Int64) -> String {
        #"{"v":1,"type":"deploy","id":"d","app":"bots","commit":"\#(commit)","ship":\#(ship)}"#
    }

    private func chunkLine(_ bytes: [UInt8]) -> String {
        #"{"v":1,"type":"ship_chunk","id":"d","data":"\#(Data(bytes).base64EncodedString())"}"#
    }

    /// Sends `hello` and `lines` to the agent with the deploy key, as a controller would.
    private func agent(_ vm: VMSandbox, _ lines: [String]) throws -> ProcessResult {
        let hello = #"{"v":1,"type":"hello","id":"h","client":"test","protocols":[1]}"#
        let argv = ["ssh", "-T", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                    "-o", "UserKnownHostsFile=\(vm.server.knownHostsPath)", "-o", "IdentitiesOnly=yes",
                    "-i", vm.server.userKeyPath, "-p", String(vm.server.port),
                    "\(vm.server.user)@\(vm.server.listenAddress)"]
        return try runProcess(argv, environment: ["SSH_AUTH_SOCK": ""],
                              stdin: ([hello] + lines).joined(separator: "\n") + "\n")
    }

    private func errorCode(_ result: ProcessResult) -> String? {
        let last = jsonLines(result.stdout).last { $0["type"] as? String == "result" && $0["id"] as? String == "d" }
        return (last?["error"] as? [String: Any])?["code"] as? String
    }

    private var isolatedEnvironment: [String: String] {
        ["SSH_AUTH_SOCK": "", "NO_COLOR": "1", "SHIPKEEP_SSH_CONFIG": "/dev/null"]
    }
}
