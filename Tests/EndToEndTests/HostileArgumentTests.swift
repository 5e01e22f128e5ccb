import Foundation
import Shared
import Testing
import ShipkeepSandbox

/// App names, refs and commits that look like git options or carry shell metacharacters, sent as raw
/// protocol requests through sshd (so the agent's own checks are tested, not the controller's): each is
/// refused with a typed error, nothing runs, and the live commit stays. Also a commit that would make git
/// delete a data dir by turning its parent into a link.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct HostileArgumentTests {
    private static let hello = #"{"v":1,"type":"hello","id":"h","client":"test","protocols":[1]}"#

    /// Values that would run `touch MARKER` if git took them as options or a shell ever saw them.
    private static func hostile(_ marker: String) -> [String] {
        ["--upload-pack=touch \(marker)", "-c core.sshCommand=touch \(marker)", "--exec=touch \(marker)",
         "main;touch \(marker)", "$(touch \(marker))", "`touch \(marker)`", "main\ntouch \(marker)",
         "main|touch \(marker)", "-", "--", "refs/heads/main:refs/heads/evil", "main@{-1}"]
    }

    private func request(_ vm: VMSandbox, _ fields: [String: String], type: String = "deploy") throws -> ProcessResult {
        var object: [String: Any] = ["v": 1, "type": type, "id": "2"]
        for (key, value) in fields { object[key] = value }
        let line = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        return try runProcess(["ssh", "-T", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                               "-o", "UserKnownHostsFile=\(vm.server.knownHostsPath)", "-o", "IdentitiesOnly=yes",
                               "-i", vm.server.userKeyPath, "-p", String(vm.server.port),
                               "\(vm.server.user)@\(vm.server.listenAddress)"],
                              environment: ["SSH_AUTH_SOCK": ""], stdin: Self.hello + "\n" + line + "\n")
    }

    private func errorCode(_ result: ProcessResult) -> String? {
        let last = jsonLines(result.stdout).last { $0["type"] as? String == "result" }
        return (last?["error"] as? [String: Any])?["code"] as? String
    }

    @Test func optionLikeAndShellLikeRefsAreRefused() throws {
        try withSandbox { vm in
            let marker = vm.root + "/pwned"
            let live = try vm.liveCommit()
            var codes: [String?] = []
            for ref in Self.hostile(marker) {
                let result = try request(vm, ["app": vm.appName, "ref": ref])
                // A name git accepts as a ref (`main;touch …`) is looked up on the remote as data and not found; a
                // newline is refused with every control character before the request is looked at.
                #expect(["bad_ref", "fetch", "control_character"].contains(errorCode(result) ?? ""),
                        "\(ref): \(result.stdout)")
                #expect(!FileManager.default.fileExists(atPath: marker), "\(ref) ran a command")
                codes.append(errorCode(result))
            }
            let unchanged = try vm.liveCommit() == live
            #expect(unchanged)

            try ReliabilityRecord.hostileInput(
                id: "05", scenario: "\(codes.count) option- or shell-like refs: `--upload-pack=touch X`, "
                    + "`-c core.sshCommand=…`, `--exec=…`, `;`, `$(…)`, backticks, newline, `|`, `-`, `--`, a refspec, "
                    + "`@{-1}`",
                injection: "raw deploy requests through sshd with the deploy key (the agent's own checks)",
                outcome: "each refused: \(HostileOutcome.codes(codes))"
                    + (codes.contains("fetch") ? " (a git-valid name is looked up on the remote: not found)" : "")
                    + "; \(HostileOutcome.ran(marker)); "
                    + (unchanged ? "live commit unchanged" : "live commit changed"),
                test: "HostileArgumentTests/optionLikeAndShellLikeRefsAreRefused()"
            ).write()
        }
    }

    @Test func optionLikeCommitsAndAppNamesAreRefused() throws {
        try withSandbox { vm in
            let marker = vm.root + "/pwned"
            let live = try vm.liveCommit()
            var commits: [String?] = [], apps: [String?] = [], snapshots: [String?] = []
            for value in Self.hostile(marker) {
                // A newline is refused with every control character before the request is looked at.
                let control = value.contains("\n") ? "control_character" : nil
                let commit = try request(vm, ["app": vm.appName, "commit": value])
                #expect(errorCode(commit) == control ?? "bad_commit", "\(value): \(commit.stdout)")
                commits.append(errorCode(commit))
                for type in ["deploy", "rollback", "snapshots", "status"] {
                    let app = try request(vm, ["app": value], type: type)
                    #expect(errorCode(app) == control ?? "unknown_app", "\(type) \(value): \(app.stdout)")
                    apps.append(errorCode(app))
                }
                let restore = try request(vm, ["app": vm.appName, "snapshot": value], type: "restore")
                // A value that is no snapshot id is refused as such (SnapshotID), before any directory is read.
                let idCode = (try? SnapshotID(validating: value, allowingLatest: true)) == nil
                    ? "invalid_snapshot" : "unknown_snapshot"
                #expect(errorCode(restore) == control ?? idCode, "\(value): \(restore.stdout)")
                snapshots.append(errorCode(restore))
                #expect(!FileManager.default.fileExists(atPath: marker), "\(value) ran a command")
            }
            let unchanged = try vm.liveCommit() == live
            #expect(unchanged)

            try ReliabilityRecord.hostileInput(
                id: "06", scenario: "the same \(commits.count) values as a commit, an app name (deploy, rollback, "
                    + "snapshots, status) and a snapshot id (restore)",
                injection: "raw requests through sshd with the deploy key",
                outcome: "commit: \(HostileOutcome.codes(commits)); app: \(HostileOutcome.codes(apps)); snapshot: "
                    + "\(HostileOutcome.codes(snapshots)); \(HostileOutcome.ran(marker)); "
                    + (unchanged ? "live commit unchanged" : "live commit changed"),
                test: "HostileArgumentTests/optionLikeCommitsAndAppNamesAreRefused()"
            ).write()
        }
    }

    @Test func aCommitThatTurnsADataDirsParentIntoALinkIsRefused() throws {
        try withSandbox { vm in
            // A nested data dir, var/data, holding data; then a commit that tracks `var` as a link to /etc.
            let config = try String(contentsOfFile: vm.agentConfigPath, encoding: .utf8)
            try config.replacingOccurrences(of: "data: [paper_trading_outputs, logs]",
                                            with: "data: [paper_trading_outputs, logs, var/data]")
                .write(toFile: vm.agentConfigPath, atomically: false, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: vm.appPath + "/var/data", withIntermediateDirectories: true)
            try "precious\n".write(toFile: vm.appPath + "/var/data/x.jsonl", atomically: false, encoding: .utf8)
            let first = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(first.status == 0, "a nested data dir deploys: \(first.stderr)")
            let live = try vm.liveCommit()
            try FileManager.default.createSymbolicLink(atPath: vm.developer + "/var", withDestinationPath: "/etc")
            let evil = try vm.commit([:], message: "var is a link now")
            let result = try shipkeep(["deploy", "--json", "--commit", evil] + vm.controllerArguments)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(errorCode(result) == "tracked_data", "\(result.stdout)")
            #expect(result.stderr.contains("var"), "\(result.stderr)")
            let unchanged = try vm.liveCommit() == live
            #expect(unchanged)
            let kept = try String(contentsOfFile: vm.appPath + "/var/data/x.jsonl", encoding: .utf8) == "precious\n"
            #expect(kept)
            var info = stat()
            let stillADir = lstat(vm.appPath + "/var", &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
            #expect(stillADir, "var is still the directory holding the data, not a link")

            try ReliabilityRecord.hostileInput(
                id: "08", scenario: "a commit that turns a data dir's parent (`var` of `var/data`) into a link to /etc",
                injection: "git commit pushed to the origin, then `shipkeep deploy --commit`",
                outcome: "deploy \(HostileOutcome.exits([result.status])), \(errorCode(result) ?? "no error"); "
                    + (kept && stillADir ? "data kept in place" : "data dir changed") + "; "
                    + (unchanged ? "live commit unchanged" : "live commit changed"),
                test: "HostileArgumentTests/aCommitThatTurnsADataDirsParentIntoALinkIsRefused()"
            ).write()
        }
    }

    @Test func theControllerRefusesOptionLikeValuesBeforeConnecting() throws {
        try withSandbox { vm in
            let marker = vm.root + "/pwned"
            let connections = { vm.server.log().components(separatedBy: "Connection from").count }
            var observed: [String] = []
            for (flag, value) in [("--ref", "--upload-pack=touch \(marker)"), ("--commit", "-c core.sshCommand=x"),
                                  ("--app", "--upload-pack=touch \(marker)")] {
                let target = vm.controllerArguments.filter { $0 != "--app" && $0 != vm.appName }
                let app = flag == "--app" ? [] : ["--app", vm.appName]
                let before = connections()
                let result = try shipkeep(["deploy", "--json", "\(flag)=\(value)"] + target + app)
                let connected = connections() != before
                #expect(result.status != 0, "\(flag)=\(value) was accepted")
                #expect(!result.stderr.isEmpty, "says why")
                #expect(!connected, "\(flag) is refused before connecting: sshd saw no connection")
                observed.append("`\(flag)`: exit \(result.status), "
                    + (connected ? "after connecting" : "before connecting (sshd saw no connection)"))
            }
            #expect(!FileManager.default.fileExists(atPath: marker))

            try ReliabilityRecord.hostileInput(
                id: "07", scenario: "option-like `--ref`, `--commit` and `--app` values (`--upload-pack=…`, `-c …`)",
                injection: "`shipkeep deploy` command line",
                outcome: "refused with a reason on stderr: " + observed.joined(separator: "; ") + "; "
                    + HostileOutcome.ran(marker),
                test: "HostileArgumentTests/theControllerRefusesOptionLikeValuesBeforeConnecting()"
            ).write()
        }
    }
}
