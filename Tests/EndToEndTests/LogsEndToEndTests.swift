import Foundation
import Glibc
import Testing
import ShipkeepSandbox

/// `shipkeep logs` through a real sshd: a writing bot's files, following across a rotation and a truncation,
/// paths outside the data dirs refused, binary data and overlong lines bounded, a service's captured output.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct LogsEndToEndTests {
    @Test("the last lines of a file the bot is writing, and of a glob")
    func lastLinesOfAWritingBot() throws {
        try withSandbox(bot: true) { vm in
            try waitUntil("the bot has written 50 lines") { (try? vm.botSequence().count) ?? 0 >= 50 }
            let output = try shipkeep(["logs", "--json", "-n", "5", "paper_trading_outputs/signals.jsonl"]
                + vm.controllerArguments)
            #expect(output.status == 0, "\(output.stderr)")
            let lines = events(output.stdout, "log")
            #expect(lines.count == 5)
            #expect(lines.allSatisfy { $0["source"] as? String == "paper_trading_outputs/signals.jsonl" })
            #expect(lines.allSatisfy { $0["stream"] as? String == "file" })
            let seqs = lines.compactMap { line -> Int? in
                guard let text = line["line"] as? String, let range = text.range(of: "\"seq\":") else { return nil }
                return Int(text[range.upperBound...].prefix { $0.isNumber })
            }
            #expect(seqs.count == 5 && zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 },
                    "five consecutive lines: \(seqs)")
            #expect(jsonLines(output.stdout).last?["ok"] as? Bool == true)

            let glob = try shipkeep(["logs", "-n", "3", "logs/*.log"] + vm.controllerArguments)
            #expect(glob.status == 0, "\(glob.stderr)")
            #expect(glob.stdout.contains("==> logs/bot.log <=="), "\(glob.stdout)")
            #expect(glob.stdout.contains("bot v1 starting"), "\(glob.stdout)")
        }
    }

    @Test("-f follows a log across a rotation and a truncation, and Ctrl-C ends it with exit 0")
    func followSurvivesRotationAndTruncation() throws {
        try withSandbox { vm in
            try vm.writeFile("logs/app.log", Array("first line\n".utf8))
            let follow = try BackgroundShipkeep(["logs", "--json", "-f", "-n", "1", "logs/app.log"]
                + vm.controllerArguments)
            func line(_ text: String) throws {
                do {
                    try follow.waitForLine(timeout: 60) { line in
                        line.contains("\"type\":\"log\"") && line.contains(text)
                    }
                } catch {
                    throw SandboxError("\(error)\nstderr: \(follow.errorOutput)")
                }
            }
            try line("first line")
            try vm.append("logs/app.log", "appended while followed\n")
            try line("appended while followed")
            // Rotation as RotatingFileHandler does it: a last line, the rename, a new file.
            try vm.append("logs/app.log", "last line before the rotation\n")
            #expect(rename(vm.appPath + "/logs/app.log", vm.appPath + "/logs/app.log.1") == 0)
            try vm.writeFile("logs/app.log", Array("first line of the new file\n".utf8))
            try line("last line before the rotation")
            try line("first line of the new file")
            try follow.waitForLine { $0.contains("\"code\":\"rotated\"") }
            // Truncation in place (copytruncate), then something shorter than what was read.
            #expect(truncate(vm.appPath + "/logs/app.log", 0) == 0)
            try vm.append("logs/app.log", "short\n")
            try line("short")
            try follow.waitForLine { $0.contains("\"code\":\"truncated\"") }
            follow.kill(SIGINT)
            #expect(try follow.wait() == 0, "\(follow.errorOutput)")
            let all = events(follow.output, "log").compactMap { $0["line"] as? String }
            #expect(all == ["first line", "appended while followed", "last line before the rotation",
                            "first line of the new file", "short"], "each line once, in order: \(all)")
            #expect(jsonLines(follow.output).last?["type"] as? String == "result")
            #expect(jsonLines(follow.output).last?["ok"] as? Bool == true)
        }
    }

    @Test("paths outside the data dirs are refused as restore refuses them, links included")
    func pathsOutsideTheDataDirsAreRefused() throws {
        try withSandbox { vm in
            #expect(symlink("/etc", vm.appPath + "/logs/etc") == 0)
            #expect(symlink("/etc/passwd", vm.appPath + "/logs/passwd.log") == 0)
            // Not a plain relative path: a usage error (64, invalid_path), as restore --path gives; a plain one
            // outside the data dirs or through a link: refused (1).
            for (path, says, status, code) in [
                ("../../etc/passwd", "\"..\" component", 64, "invalid_path"), ("/etc/passwd", "absolute", 64, "invalid_path"),
                ("logs/../../../etc/passwd", "\"..\" component", 64, "invalid_path"),
                ("bot.sh", "not inside a data dir", 1, "refused"), ("logs/passwd.log", "symbolic link", 1, "refused"),
                ("logs/etc/passwd", "symbolic link", 1, "refused")] {
                let output = try shipkeep(["logs", "--json", "--path", path] + vm.controllerArguments)
                #expect(output.status == Int32(status), "\(path): \(output.stderr)")
                #expect(resultCode(output.stdout) == code, "\(path)")
                #expect(output.stderr.contains(says), "\(path): \(output.stderr)")
                #expect(!output.stdout.contains("root:"), "\(path) leaked /etc/passwd")
            }
            let positional = try shipkeep(["logs", "../../etc/passwd"] + vm.controllerArguments)
            #expect(positional.status == 64 && positional.stderr.contains("refusing to read \"../../etc/passwd\""))
            #expect(positional.stdout.isEmpty, "stdout is for log lines only")
            // A glob matches only the data dirs' own files: the links are not followed.
            try vm.writeFile("logs/real.log", Array("real\n".utf8))
            let glob = try shipkeep(["logs", "--json", "logs/*"] + vm.controllerArguments)
            #expect(glob.status == 0, "\(glob.stderr)")
            #expect(!glob.stdout.contains("root:"))
            #expect(Set(events(glob.stdout, "log").compactMap { $0["source"] as? String }) == ["logs/real.log"])
        }
    }

    @Test("binary data is named, not shown; long lines are cut; bytes and control characters are escaped")
    func binaryAndOverlongLinesAreBounded() throws {
        try withSandbox { vm in
            var blob = [UInt8](repeating: 0, count: 100_000)
            for index in blob.indices { blob[index] = UInt8.random(in: 0...255) }
            blob[10] = 0
            try vm.writeFile("logs/blob.bin", blob)
            let binary = try shipkeep(["logs", "--json", "logs/blob.bin"] + vm.controllerArguments)
            #expect(binary.status == 0, "\(binary.stderr)")
            #expect(events(binary.stdout, "log").isEmpty)
            #expect(events(binary.stdout, "warning").contains { $0["code"] as? String == "binary" })

            let long = String(repeating: "x", count: 50_000)
            let weird = Array("\(long)\nbad byte \u{1B}[2J".utf8) + [0xFF, 0xFE] + Array(" end\n".utf8)
            try vm.writeFile("logs/weird.log", weird)
            // -n 1000 reads the whole file: the long line is cut at its end; -n 1 starts inside it.
            let output = try shipkeep(["logs", "--json", "-n", "1000", "logs/weird.log"] + vm.controllerArguments)
            #expect(output.status == 0, "\(output.stderr)")
            let lines = events(output.stdout, "log").compactMap { $0["line"] as? String }
            #expect(lines.count == 2)
            #expect(lines.first?.hasSuffix("… [45904 more bytes cut]") == true, "\(lines.first?.suffix(40) ?? "")")
            #expect((lines.first?.utf8.count ?? 0) < 4200)
            let two = try shipkeep(["logs", "--json", "-n", "2", "logs/weird.log"] + vm.controllerArguments)
            let ends = events(two.stdout, "log").compactMap { $0["line"] as? String }
            #expect(ends.count == 2 && ends.first?.hasPrefix("[… earlier bytes of this line cut] xxx") == true)
            #expect((ends.first?.utf8.count ?? 0) < 4200)
            #expect(lines.last?.contains("\\x{ff}\\x{fe} end") == true, "\(lines.last ?? "")")
            #expect(output.stdout.utf8.count < 20_000, "bounded")
            let human = try shipkeep(["logs", "logs/weird.log"] + vm.controllerArguments)
            #expect(human.status == 0)
            #expect(!human.stdout.contains("\u{1B}"), "no raw escape reaches the terminal")
            #expect(human.stdout.contains("bad byte \\u{1b}[2J"), "\(human.stdout)")
        }
    }
}
