import Foundation
import Testing
import ShipkeepSandbox

/// What the deploy does when something damages the data, and what `restore` will and will not write.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct DataSafetyEndToEndTests {
    private func result(_ output: ProcessResult) -> [String: Any]? {
        jsonLines(output.stdout).last { $0["type"] as? String == "result" }
    }

    private func content(_ vm: VMSandbox, _ path: String) -> Data? {
        FileManager.default.contents(atPath: vm.appPath + "/" + path)
    }

    @Test func dataDamagedDuringTheUpdateIsRepairedFromTheSnapshot() throws {
        try withSandbox(bot: true) { vm in
            try vm.fillData(files: 20, bytesEach: 32 * 1024)
            let before = try vm.dataChecksums()
            // A careless hook: truncates one file, deletes another, scribbles over a third.
            try vm.writeAgentConfig(hooks: [["sh", "-c", "truncate -s 100 paper_trading_outputs/history_1.jsonl; "
                + "rm paper_trading_outputs/history_2.jsonl; printf XXXX | dd of=paper_trading_outputs/history_3.jsonl "
                + "conv=notrunc status=none"]])
            let output = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(output.status == 0, "\(output.stderr)")
            let warnings = jsonLines(output.stdout).filter { $0["type"] as? String == "warning" }
                .compactMap { $0["message"] as? String }
            #expect(warnings.count == 3, "\(warnings)")
            #expect(warnings.contains { $0.contains("history_1.jsonl had shrunk") })
            #expect(warnings.contains { $0.contains("history_2.jsonl was missing") })
            #expect(warnings.contains { $0.contains("history_3.jsonl had changed") })
            var after = try vm.dataChecksums()
            // The damaged versions are preserved beside the repaired files, never dropped.
            let preserved = after.keys.filter { $0.contains(".shipkeep-d-") }
            #expect(preserved.count == 2, "\(preserved)")
            for key in preserved { after.removeValue(forKey: key) }
            #expect(after == before, "every file is back to its snapshotted bytes")
            #expect((try summary(output)["repairs"] as? Int) == 3)
            vm.stopBot()
            let seqs = try vm.botSequence()
            #expect(seqs == Array(1...(seqs.max() ?? 0)))
        }
    }

    private func summary(_ output: ProcessResult) throws -> [String: Any] {
        try #require(result(output)?["deploy"] as? [String: Any])
    }

    @Test func restoreWritesOnlyInsideTheDataDirsAndKeepsNewerData() throws {
        try withSandbox(bot: false) { vm in
            try vm.fillData(files: 3, bytesEach: 4096)
            let deployed = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(deployed.status == 0, "\(deployed.stderr)")
            let snapshot = try #require((try summary(deployed)["snapshot"] as? [String: Any])?["id"] as? String)
            let listed = try shipkeep(["snapshots", "--json"] + vm.controllerArguments)
            #expect(listed.stdout.contains(snapshot))

            let original = content(vm, "paper_trading_outputs/history_0.jsonl")
            try FileManager.default.removeItem(atPath: vm.appPath + "/paper_trading_outputs/history_0.jsonl")
            try "newer\n".write(toFile: vm.appPath + "/paper_trading_outputs/history_1.jsonl", atomically: false,
                                encoding: .utf8)
            let restore = ["restore", "--json", "--snapshot", snapshot] + vm.controllerArguments
            let kept = try shipkeep(restore)
            #expect(kept.status == 0, "\(kept.stderr)")
            #expect(content(vm, "paper_trading_outputs/history_0.jsonl") == original, "the missing file is back")
            #expect(content(vm, "paper_trading_outputs/history_1.jsonl") == Data("newer\n".utf8), "newer data kept")
            #expect(kept.stdout.contains("use --force"))

            let forced = try shipkeep(restore + ["--force", "--path", "paper_trading_outputs/history_1.jsonl"])
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(content(vm, "paper_trading_outputs/history_1.jsonl")?.count == 4096)
            let aside = try FileManager.default.contentsOfDirectory(atPath: vm.appPath + "/paper_trading_outputs")
                .filter { $0.hasPrefix("history_1.jsonl.shipkeep-before-restore-") }
            #expect(aside.count == 1, "the overwritten content is preserved")

            // A path that is not a plain relative path is a usage error (64, invalid_path); a plain one outside
            // the data dirs is refused (1).
            for (path, status, code) in [("../../etc", 64, "invalid_path"), ("/etc/passwd", 64, "invalid_path"),
                                         ("README.md", 1, "refused"), ("paper_trading_outputs/../../x", 64, "invalid_path")] {
                let refused = try shipkeep(restore + ["--path", path])
                #expect(refused.status == Int32(status), "\(path): \(refused.stderr)")
                #expect((result(refused)?["error"] as? [String: Any])?["code"] as? String == code, "\(path)")
            }
            // A symbolic link planted inside a data dir must not redirect the restore outside it.
            let outside = vm.root + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try FileManager.default.removeItem(atPath: vm.appPath + "/logs")
            try FileManager.default.createSymbolicLink(atPath: vm.appPath + "/logs", withDestinationPath: outside)
            let planted = try shipkeep(restore + ["--path", "logs"])
            #expect(planted.status == 1)
            #expect(planted.stderr.contains("symbolic link"), "\(planted.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "nothing written outside")
        }
    }

    @Test func trackedFilesModifiedOnTheVMAreRefusedUnlessForced() throws {
        try withSandbox(bot: false) { vm in
            let previous = try vm.liveCommit()
            let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            try "hotfix typed on the VM\n".write(toFile: vm.appPath + "/README.md", atomically: false, encoding: .utf8)
            let refused = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(refused.status == 1)
            #expect((result(refused)?["error"] as? [String: Any])?["code"] as? String == "dirty")
            #expect(refused.stderr.contains("README.md") && refused.stderr.contains("--force"))
            #expect(try vm.liveCommit() == previous)
            let forced = try shipkeep(["deploy", "--force", "--json"] + vm.controllerArguments)
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(try vm.liveCommit() == target)
        }
    }

    @Test func anUnknownCommitOrABadRefIsRefusedBeforeAnyChange() throws {
        try withSandbox(bot: false) { vm in
            let previous = try vm.liveCommit()
            let unknown = try shipkeep(["deploy", "--json", "--commit", "0123456789abcdef"] + vm.controllerArguments)
            #expect(unknown.status == 1)
            #expect((result(unknown)?["error"] as? [String: Any])?["code"] as? String == "unknown_commit")
            let option = try shipkeep(["deploy", "--json", "--ref", "--upload-pack=touch /tmp/x"] + vm.controllerArguments)
            #expect(option.status != 0)
            let missing = try shipkeep(["deploy", "--json", "--ref", "no-such-branch"] + vm.controllerArguments)
            #expect(missing.status == 1)
            #expect((result(missing)?["error"] as? [String: Any])?["code"] as? String == "fetch")
            #expect(try vm.liveCommit() == previous)
        }
    }
}
