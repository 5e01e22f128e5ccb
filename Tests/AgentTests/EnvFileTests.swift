import Foundation
import Shared
import Testing
@testable import Agent

@Suite(.timeLimit(.minutes(10))) struct EnvFileTests {
    private func withTempDir<T>(_ body: (String) throws -> T) throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envfile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try body(dir)
    }

    private func app(_ dir: String) throws -> AppConfig {
        let config = try AgentConfig.parse("apps:\n  bots:\n    path: \(dir)/tree\n    state: \(dir)/state\n",
                                           file: dir + "/agent.yml")
        return try #require(config.app("bots"))
    }

    @Test func parsesTheFormsSystemdReads() throws {
        let text = """
            # a comment
            ; another

            PLAIN=  some value\\ here  \t
            DOUBLE="a \\"quoted\\" \\$HOME \\`x\\` \\\\ and \\n kept"
            SINGLE='it is \\literal $x'
            EMPTY=
            PLAIN=last wins\r
            """
        let parsed = try EnvFile.parse(Array(text.utf8), path: "env")
        let values = Dictionary(parsed.map { ($0.key, $0.value) }) { $1 }
        #expect(parsed.map(\.key) == ["DOUBLE", "SINGLE", "EMPTY", "PLAIN"])
        #expect(values["PLAIN"] == "last wins")
        #expect(values["DOUBLE"] == #"a "quoted" $HOME `x` \ and \n kept"#)
        #expect(values["EMPTY"] == "")
        #expect(values["SINGLE"] == #"it is \literal $x"#)
    }

    @Test func refusesBrokenLinesByNumberWithoutTheirText() throws {
        for text in ["A=\"unterminated", "no equals sign here", "1BAD=x", "A=\"x\" trailing"] {
            #expect {
                try EnvFile.parse(Array(("OK=1\n" + text).utf8), path: "env")
            } throws: { error in
                let message = "\(error)"
                return message.hasPrefix("env:2:") && !message.contains("trailing")
                    && !message.contains("unterminated\"")
            }
        }
    }

    @Test func writtenValuesReadBackExactlyAndTheFileIsPrivate() throws {
        try withTempDir { dir in
            let file = EnvFile(app: try app(dir))
            #expect(try file.load().isEmpty, "no file is no secrets")
            let tricky = [("A", #"p@ss "w$rd" `x` \ end"#), ("B", "  spaces kept  "), ("C", ""), ("D", "'#;=")]
            try file.write(tricky)
            let back = try file.load()
            #expect(back.map(\.key) == tricky.map(\.0))
            #expect(back.map(\.value) == tricky.map(\.1))
            var info = stat()
            #expect(stat(file.path, &info) == 0 && info.st_mode & 0o777 == 0o600)
            // The shell reads the file the same way (systemd's syntax is the shell's for these forms).
            let script = ". \"$0\"; printf '%s|' \"$A\" \"$B\" \"$C\" \"$D\""
            let shell = try ProcessRunner.run(["sh", "-c", script, file.path], timeout: 10)
            #expect(shell.stdout == tricky.map { $0.1 + "|" }.joined())
        }
    }

    @Test func refusesAFileOthersCanReadALinkOrOneInTheWorkTree() throws {
        try withTempDir { dir in
            let app = try app(dir)
            let file = EnvFile(app: app)
            try file.write([("A", "secret-value-1")])
            chmod(file.path, 0o640)
            #expect { try file.load() } throws: { "\($0)".contains("chmod 600") && !"\($0)".contains("secret-value-1") }
            unlink(file.path)
            symlink(dir + "/elsewhere", file.path)
            #expect { try file.load() } throws: { "\($0)".contains("symbolic link") }
            var inside = app
            inside.envFile = app.path + "/.env"
            #expect { try EnvFile(app: inside).write([("A", "x")]) } throws: {
                "\($0)".contains("inside the work tree")
            }
        }
    }

    @Test func servicesGetTheSecretsAndTheirOutputHidesThem() throws {
        try withTempDir { dir in
            let app = try app(dir)
            try FileManager.default.createDirectory(atPath: app.path, withIntermediateDirectories: true)
            try EnvFile(app: app).write([("API_KEY", "hunter2-secret")])
            var lines: [String] = []
            let services = Services(app: app) { _, _, line in lines.append(line) }
            let failure = services.run(["sh", "-c", "echo \"key=$API_KEY\"; echo \"$API_KEY\" >&2; exit 3"],
                                       name: "svc", timeout: 10, what: "restart")
            #expect(lines.contains("key=***"), "\(lines)")
            #expect(!lines.joined().contains("hunter2"))
            #expect(failure?.contains("***") == true && failure?.contains("hunter2") == false, "\(failure ?? "")")
        }
    }

    @Test func keysAreIdentifiersAndCodeLoadingOnesAreRefused() {
        #expect(EnvKey.refusal("EXCHANGE_API_KEY") == nil)
        #expect(EnvKey.refusal("_private1") == nil)
        for bad in ["1A", "A-B", "A B", "", "É", String(repeating: "A", count: 129)] {
            #expect(EnvKey.refusal(bad) != nil, "\(bad)")
        }
        for code in ["LD_PRELOAD", "PATH", "BASH_ENV", "PYTHONSTARTUP", "GIT_SSH_COMMAND", "NODE_OPTIONS", "lc_all"] {
            #expect(EnvKey.refusal(code)?.contains("cannot set it") == true, "\(code)")
        }
        #expect(EnvKey.refusal("OTHER", allowed: ["EXCHANGE_*", "TOKEN"]) != nil)
        #expect(EnvKey.refusal("EXCHANGE_KEY", allowed: ["EXCHANGE_*", "TOKEN"]) == nil)
        #expect(EnvKey.valueRefusal("a\nb") != nil)
        #expect(EnvKey.valueRefusal("a\u{1b}b") != nil)
        #expect(EnvKey.valueRefusal(#"ok "quoted" $x"#) == nil)
    }

    @Test func theRequestNeverPrintsItsValue() {
        let request = Command.Env(app: "bots", action: .set, key: "K", value: "printed-nowhere")
        var dumped = ""
        dump(request, to: &dumped)
        for text in [String(describing: request), String(reflecting: request), dumped,
                     String(describing: Command.env(request))] {
            #expect(!text.contains("printed-nowhere"), "\(text)")
        }
    }
}

@Suite(.timeLimit(.minutes(10))) struct HistoryLogTests {
    @Test func appendsInOrderAndPrunesToTheNewest() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = HistoryLog(state: StateDirectory(path: dir), kept: 50, pruneAbove: 16 * 1024)
        for index in 0..<400 {
            #expect(log.append(HistoryRecord(time: Timestamp.now(), action: .restart, who: "t", outcome: .succeeded,
                                             detail: "entry \(index)")) == nil)
        }
        let records = log.read()
        #expect(records.count >= 50 && records.count < 200, "\(records.count) kept")
        #expect(records.last?.detail == "entry 399")
        let details = records.compactMap(\.detail).compactMap { Int($0.dropFirst(6)) }
        #expect(details == Array((400 - details.count)..<400), "the newest, in order")
        var info = stat()
        #expect(stat(log.path, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }
}
