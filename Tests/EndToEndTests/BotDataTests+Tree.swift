import Foundation
import Testing
import ShipkeepSandbox

/// The files beside the code: untracked files outside the data dirs, a data dir file an old commit tracked, a data dir
/// that does not exist.
extension BotDataTests {
    /// Untracked files a bot's tree holds (path → content); `__pycache__/` is ignored, the others are not.
    static func untrackedFiles() -> [String: Data] {
        [
            ".env": Data("EXCHANGE_API_KEY=k-5c1e\nEXCHANGE_SECRET=s-9f2a\n".utf8),
            "models/x.bin": Data((0..<65_536).map { _ in UInt8.random(in: 0...255) }),
            ".venv/pyvenv.cfg": Data("home = /usr/bin\ninclude-system-site-packages = false\n".utf8),
            ".venv/bin/activate": Data("VIRTUAL_ENV=/srv/bots/.venv\nexport VIRTUAL_ENV\n".utf8),
            ".venv/lib/python3.11/site-packages/ccxt/__init__.py": Data("__version__ = '4.2.0'\n".utf8),
            "run/bot.pid": Data("4242\n".utf8),
            "__pycache__/strategy.cpython-311.pyc": Data((0..<4096).map { _ in UInt8.random(in: 0...255) }),
        ]
    }

    /// The paths among `files` whose content in the work tree is not `files`' (changed or gone).
    static func changed(_ vm: VMSandbox, _ files: [String: Data]) -> [String] {
        files.filter { FileManager.default.contents(atPath: vm.appPath + "/" + $0.key) != $0.value }.keys.sorted()
    }

    @Test func untrackedFilesSurviveADeployARollbackARecoveryAndAForcedDeploy() throws {
        try withSandbox(bot: true) { vm in
            try vm.writeAgentConfig(healthTimeout: 3)
            // `bot.pid` anchored to the top: unanchored, it would ignore `run/bot.pid` too, which must stay untracked
            // and not ignored here.
            let gitignore = SampleApp.gitignore.replacingOccurrences(of: "bot.pid", with: "/bot.pid")
                + "\n__pycache__/\n"
            let ignoring = try vm.commit([".gitignore": gitignore], message: "ignore __pycache__, only the top bot.pid")
            let setUp = try DeployRun(vm)
            let live = try vm.liveCommit()
            try #require(setUp.status == 0 && live == ignoring, "\(setUp)")
            let files = Self.untrackedFiles()
            for (path, content) in files {
                let full = vm.appPath + "/" + path
                try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try content.write(to: URL(fileURLWithPath: full))
            }
            chmod(vm.appPath + "/.env", 0o600)
            for (path, ignored) in files.keys.map({ ($0, $0.hasPrefix("__pycache__/")) }) {
                let check = try runProcess(["git", "-C", vm.appPath, "check-ignore", "-q", path])
                try #require(check.status == (ignored ? 0 : 1), "\(path) is \(ignored ? "" : "not ")ignored")
            }
            var steps: [String] = []

            // A deploy, whose target also starts tracking a path that holds an untracked file on the VM.
            let local = Data("exchange: live  # typed on the VM\n".utf8)
            let settings = vm.appPath + "/config/settings.yml"
            try FileManager.default.createDirectory(atPath: vm.appPath + "/config", withIntermediateDirectories: true)
            try local.write(to: URL(fileURLWithPath: settings))
            let v2 = try vm.commit(["bot.sh": SampleApp.bot(version: "v2"), "config/settings.yml": "exchange: paper\n"],
                                   message: "v2 with settings")
            let deployed = try DeployRun(vm)
            #expect(deployed.status == 0, "\(deployed)")
            #expect(try vm.liveCommit() == v2)
            let listed = deployed.warnings("untracked")
            #expect(listed.count == 1, "the untracked files are listed once: \(deployed)")
            let named = [".env", "models/", ".venv/", "run/"].filter { name in listed.contains { $0.contains(name) } }
            for name in [".env", "models/", ".venv/", "run/"] {
                #expect(named.contains(name), "\(name) is listed: \(listed)")
            }
            #expect(!listed.contains { $0.contains("__pycache__") }, "ignored files are not listed: \(listed)")
            #expect(deployed.warnings.contains { $0.message.contains("config/settings.yml") },
                    "the untracked file the target tracks is named: \(deployed)")
            #expect(FileManager.default.contents(atPath: settings) == Data("exchange: paper\n".utf8))
            let saved = try Self.filesHolding(local, under: [vm.stateDir, vm.appPath], except: settings)
            #expect(!saved.isEmpty, "the untracked config/settings.yml was saved before the reset")
            #expect(Self.changed(vm, files).isEmpty, "after a deploy: \(Self.changed(vm, files))")
            steps.append("deploy: exit \(deployed.status), \(Self.changed(vm, files).count) changed, "
                + "\(named.count) of 4 listed as untracked")

            // A rollback.
            try vm.commit(Faults.unhealthy, message: "v3 with a failing check")
            let rolledBack = try DeployRun(vm)
            #expect(rolledBack.status == 1 && rolledBack.outcome == "rolled_back", "\(rolledBack)")
            #expect(try vm.liveCommit() == v2)
            #expect(Self.changed(vm, files).isEmpty, "after a rollback: \(Self.changed(vm, files))")
            steps.append("rollback: exit \(rolledBack.status), \(Self.changed(vm, files).count) changed")

            // The worker killed in the restart phase, recovered by the next agent.
            try vm.commit(["bot.sh": SampleApp.bot(version: "v4"), "check.sh": SampleApp.check], message: "v4")
            let paused = try Faults.startPaused(vm, in: "restart")
            paused.controller.kill(SIGKILL)
            kill(paused.worker, SIGKILL)
            try waitUntil("the worker is gone") { [nil, "Z"].contains(processState(paused.worker)) }
            var app: [String: Any] = [:]
            try waitUntil("status reports the recovery") {
                app = try Faults.appStatus(vm)
                return Faults.lastOutcome(app) == "recovered" && app["lock"] == nil
            }
            #expect(try vm.liveCommit() == v2)
            #expect(Self.changed(vm, files).isEmpty, "after a recovery: \(Self.changed(vm, files))")
            steps.append("recovery: \(Faults.lastOutcome(app)), \(Self.changed(vm, files).count) changed")

            // A forced deploy over an edit of a tracked file.
            let edit = "hotfix typed on the VM\n"
            try edit.write(toFile: vm.appPath + "/README.md", atomically: false, encoding: .utf8)
            let v5 = try vm.commit(["bot.sh": SampleApp.bot(version: "v5")], message: "v5")
            let forced = try DeployRun(vm, ["--force"])
            #expect(forced.status == 0, "\(forced)")
            #expect(try vm.liveCommit() == v5)
            let discarded = forced.warnings("discarded_edits")
            #expect(discarded.count == 1, "\(forced)")
            let patches = discarded.flatMap { Self.absolutePaths(in: $0) }
                .filter { FileManager.default.fileExists(atPath: $0) }
            #expect(patches.count == 1, "the warning names the patch: \(discarded)")
            let patch = patches.first.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
            #expect(patch.contains("README.md") && patch.contains("+" + edit), "the patch holds the edit: \(patch)")
            #expect(Self.changed(vm, files).isEmpty, "after --force: \(Self.changed(vm, files))")
            steps.append("--force: exit \(forced.status), \(Self.changed(vm, files).count) changed")
            let lost = try Faults.linesLost(vm)

            try ReliabilityRecord(
                section: "bot-data", id: "31-4",
                scenario: "untracked `.env`, `models/x.bin`, `.venv/`, `run/bot.pid` and an ignored "
                    + "`__pycache__/` file",
                injection: "a deploy, a rollback (failing check), `kill -9` of the worker in restart, "
                    + "and `--force` over an edit of README.md",
                outcome: steps.joined(separator: "; ") + "; patch saved: \(patches.count == 1 ? "yes" : "no")",
                linesLost: lost, test: "BotDataTests/untrackedFilesSurviveADeployARollbackARecoveryAndAForcedDeploy()"
            ).write()
        }
    }

    @Test func aLiveCommitTrackingLogsGitkeepDeploysToOneThatUntracksIt() throws {
        try withSandbox(bot: true) { vm in
            try vm.fillData(files: 3, bytesEach: 4096)
            let tracking = try vm.commit(["logs/.gitkeep": ""], message: "keep logs/ in git", forceAdd: true)
            // What the old CI recipe does: fetch and reset --hard, with no check of the data dirs.
            for arguments in [["fetch", "-q", "origin"], ["reset", "-q", "--hard", tracking]] {
                let git = try runProcess(["git", "-C", vm.appPath] + arguments)
                try #require(git.status == 0, "\(git.stderr)")
            }
            let gitkeep = vm.appPath + "/logs/.gitkeep"
            let inode = try #require(Self.inode(gitkeep))
            let checksums = try vm.dataChecksums()
            let botLog = FileManager.default.contents(atPath: vm.appPath + "/logs/bot.log") ?? Data()
            let untracking = try vm.untrack(["logs/.gitkeep"], message: "stop tracking logs/.gitkeep")
            let migrated = try DeployRun(vm)
            #expect(migrated.status == 0, "\(migrated)")
            #expect(try vm.liveCommit() == untracking)
            let said = migrated.warnings("untracked_data")
            #expect(said.contains { $0.contains("logs/.gitkeep") }, "the deploy says what it did: \(migrated)")
            #expect(Self.inode(gitkeep) == inode, "logs/.gitkeep is the same file")
            #expect(try vm.dataChecksums() == checksums, "every data file is untouched")
            let log = FileManager.default.contents(atPath: vm.appPath + "/logs/bot.log") ?? Data()
            #expect(log.starts(with: botLog), "logs/bot.log kept its \(botLog.count) bytes: \(log.count) now")

            try vm.commit(["paper_trading_outputs/params.json": "{}\n"], message: "track params", forceAdd: true)
            let refused = try DeployRun(vm)
            #expect(refused.status == 1, "\(refused)")
            #expect(refused.errorCode == "tracked_data", "\(refused)")
            #expect(try vm.liveCommit() == untracking, "the code is unchanged")
            #expect(!FileManager.default.fileExists(atPath: vm.appPath + "/paper_trading_outputs/params.json"))
            let lost = try Faults.linesLost(vm)

            try ReliabilityRecord(
                section: "bot-data", id: "31-5",
                scenario: "the live commit tracks `logs/.gitkeep` (left by the old CI recipe)",
                injection: "the VM's tree reset to a commit tracking it; a deploy of the commit that untracks it, "
                    + "then of one that tracks `paper_trading_outputs/params.json`",
                outcome: "untracking commit: exit \(migrated.status), .gitkeep "
                    + (Self.inode(gitkeep) == inode ? "untouched" : "replaced or gone")
                    + "; tracking commit: exit \(refused.status), \(refused.errorCode ?? "no error code")",
                linesLost: lost, test: "BotDataTests/aLiveCommitTrackingLogsGitkeepDeploysToOneThatUntracksIt()"
            ).write()
        }
    }

    @Test func aConfiguredDataDirThatDoesNotExistIsAWarning() throws {
        try withSandbox(bot: true) { vm in
            let config = try String(contentsOfFile: vm.agentConfigPath, encoding: .utf8)
            let typo = config.replacingOccurrences(of: "data: [paper_trading_outputs, logs]",
                                                   with: "data: [paper_trading_outputs, logs, paper_trading_ouputs]")
            try #require(typo != config)
            try typo.write(toFile: vm.agentConfigPath, atomically: false, encoding: .utf8)
            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let deployed = try DeployRun(vm)
            #expect(deployed.status == 0, "\(deployed)")
            let missing = deployed.warnings("missing_data_dir")
            #expect(missing.count == 1 && missing.allSatisfy { $0.contains("paper_trading_ouputs") }, "\(deployed)")
            let lost = try Faults.linesLost(vm)

            try ReliabilityRecord(
                section: "bot-data", id: "31-6",
                scenario: "a data dir in agent.yml that does not exist (a typo)",
                injection: "`data: [paper_trading_outputs, logs, paper_trading_ouputs]`; a deploy",
                outcome: "exit \(deployed.status); \(missing.count) `missing_data_dir` warning(s)",
                linesLost: lost, test: "BotDataTests/aConfiguredDataDirThatDoesNotExistIsAWarning()"
            ).write()
        }
    }

    /// The inode of `path`, or nil when it does not exist.
    static func inode(_ path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    /// The absolute paths a message names (words starting with `/`, without trailing punctuation or quotes).
    static func absolutePaths(in message: String) -> [String] {
        message.split(whereSeparator: { $0 == " " || $0 == "\"" || $0 == "'" || $0 == "(" || $0 == ")" })
            .filter { $0.hasPrefix("/") }
            .map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: ".,:;")) }
    }

    /// Regular files under `dirs` holding exactly `content`, other than `except`.
    static func filesHolding(_ content: Data, under dirs: [String], except: String) throws -> [String] {
        var found: [String] = []
        for dir in dirs {
            guard let walker = FileManager.default.enumerator(atPath: dir) else { continue }
            while let relative = walker.nextObject() as? String {
                let path = dir + "/" + relative
                guard path != except, !relative.hasPrefix(".git/"),
                      (walker.fileAttributes?[.type] as? FileAttributeType) == .typeRegular,
                      (walker.fileAttributes?[.size] as? Int) == content.count else { continue }
                if FileManager.default.contents(atPath: path) == content { found.append(path) }
            }
        }
        return found
    }
}
