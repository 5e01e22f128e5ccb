import Foundation
import ProcessKit
import ShipkeepSandbox
import Testing
@testable import Agent

@Suite(.timeLimit(.minutes(10))) struct ProcessRunnerTests {
    @Test func capturesOutputStatusAndRunsWithoutAShell() throws {
        let outcome = try ProcessRunner.run(["printf", "%s|", "a b", "$HOME", ";rm"], timeout: 10)
        #expect(outcome.stdout == "a b|$HOME|;rm|")
        #expect(outcome.status == .exited(0))
        let failed = try ProcessRunner.run(["sh", "-c", "echo oops >&2; exit 3"], timeout: 10)
        #expect(failed.status == .exited(3))
        #expect(failed.stderr == "oops\n")
        #expect(!failed.succeeded)
    }

    @Test func streamsLinesAsTheyArrive() throws {
        var lines: [String] = []
        _ = try ProcessRunner.run(["sh", "-c", "echo one; echo two >&2; printf three"], timeout: 10) { stream, line in
            lines.append("\(stream):\(line)")
        }
        #expect(lines.sorted() == ["stderr:two", "stdout:one", "stdout:three"])
    }

    @Test func aBackgroundChildHoldingTheOutputOpenDoesNotHangTheCaller() throws {
        let tmp = try TemporaryDirectory()
        let started = Date()
        // The classic restart script: start the bot in the background and exit, the bot inheriting stdout.
        let outcome = try ProcessRunner.run(["sh", "-c", "sleep 30 & echo $! > \(tmp.path)/pid; echo started"],
                                            timeout: 20)
        let elapsed = Date().timeIntervalSince(started)
        #expect(outcome.succeeded)
        #expect(outcome.stdout == "started\n")
        #expect(elapsed < 5, "took \(elapsed)s: the runner waited for the background child's pipe")
        if let pid = Int32((try? String(contentsOfFile: tmp.path + "/pid", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") {
            kill(pid, SIGKILL)
        }
    }

    @Test func aTimeoutKillsTheWholeProcessGroup() throws {
        let tmp = try TemporaryDirectory()
        let outcome = try ProcessRunner.run(
            ["sh", "-c", "sh -c 'echo $$ > \(tmp.path)/child; exec sleep 60' & wait"], timeout: 1)
        #expect(outcome.timedOut)
        // SIGTERM to the group ends the waiting shell and its child; SIGKILL follows the grace for any survivor.
        #expect(outcome.status == .signalled(SIGTERM))
        let child = try #require(Int32(String(contentsOfFile: tmp.path + "/child", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        // The grandchild was in the same process group, so it is gone too (possibly a zombie until reaped by init).
        var gone = false
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let state = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8))?.split(separator: " ")
            if state == nil || state?[2] == "Z" { gone = true; break }
            usleep(20_000)
        }
        #expect(gone)
    }

    @Test func childrenInheritNoDescriptorOfTheAgentAndReadEOFOnStdin() throws {
        let fd = open("/dev/null", O_RDONLY)  // deliberately without O_CLOEXEC
        defer { close(fd) }
        let outcome = try ProcessRunner.run(["sh", "-c", "ls /proc/self/fd; cat"], timeout: 10)
        let fds = outcome.stdout.split(separator: "\n").compactMap { Int($0) }.sorted()
        #expect(fds.allSatisfy { $0 <= 3 }, "inherited descriptors: \(fds)")  // 0,1,2 and ls's own dir fd
        #expect(outcome.succeeded)
    }

    @Test func aMissingProgramIsALaunchError() {
        #expect(throws: SpawnError.self) {
            _ = try ProcessRunner.run(["/nonexistent/program"], timeout: 5)
        }
    }

    @Test func childrenGetTheAllowListedEnvironmentAndWhatTheCallerAdds() throws {
        let session = ["PATH": "/usr/bin:/bin", "HOME": "/home/deploy", "SSH_ORIGINAL_COMMAND": "deploy; id",
                       "SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22", "LANG": "xx_CLIENT", "LC_ALL": "xx_CLIENT",
                       "TZ": "UTC", "SHIPKEEP_SSH_KEY": "key text"]
        #expect(ChildEnvironment.base(from: session) == ["PATH": "/usr/bin:/bin", "HOME": "/home/deploy", "TZ": "UTC"])
        let outcome = try ProcessRunner.run(["env"], environment: ["LANG": "C.UTF-8"], timeout: 10)
        let keys = Set(outcome.stdout.split(separator: "\n").compactMap { line in
            line.split(separator: "=").first.map(String.init)
        })
        #expect(keys.isSubset(of: Set(ChildEnvironment.inherited + ["LANG"])), "\(keys.sorted())")
        #expect(outcome.stdout.contains("LANG=C.UTF-8\n"))
    }
}
