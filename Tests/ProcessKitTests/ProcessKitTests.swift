import Glibc
import ProcessKit
import Testing

/// Real processes, started the way agent, controller and sandbox start theirs.
@Suite(.timeLimit(.minutes(10))) struct ProcessKitTests {
    private static let path = ["PATH": "/usr/local/bin:/usr/bin:/bin"]

    private func run(_ argv: [String], environment: [String: String] = path, group: ChildGroup = .newGroup,
                     timeout: Duration? = .seconds(30)) throws -> ChildResult {
        try ChildCommand(argv, environment: environment, group: group, stdout: .capture, stderr: .capture)
            .run(timeout: timeout)
    }

    @Test func runsArgvWithoutAShellInItsDirectoryWithExactlyItsEnvironment() throws {
        let printed = try run(["printf", "%s|", "a b", "$HOME", ";rm"])
        #expect(printed.stdout == "a b|$HOME|;rm|")
        #expect(printed.succeeded)
        // No PATH given: the program is looked up in the default one, and the child sees nothing else.
        let env = try ChildCommand(["env"], environment: ["ONLY": "this"], stdout: .capture).run()
        #expect(env.stdout == "ONLY=this\n")
        let pwd = try ChildCommand(["pwd"], environment: Self.path, directory: "/proc", stdout: .capture).run()
        #expect(pwd.stdout == "/proc\n")
        let echoed = try ChildCommand(["cat"], environment: Self.path, stdin: .bytes(Array("in\u{0}put".utf8)),
                                      stdout: .capture).run()
        #expect(echoed.stdout == "in\u{0}put")
    }

    @Test func aMissingProgramOrDirectoryIsASpawnError() {
        #expect(throws: SpawnError.self) { try run(["/nonexistent/program"]) }
        #expect(throws: SpawnError.self) { try run(["no-such-program-shipkeep"]) }
        #expect(throws: SpawnError.self) {
            try ChildCommand(["true"], environment: Self.path, directory: "/nonexistent/dir").run()
        }
    }

    @Test func theChildInheritsNoDescriptorButItsStdio() throws {
        let leaked = open("/dev/null", O_RDONLY)  // deliberately without O_CLOEXEC
        defer { close(leaked) }
        let listed = try run(["ls", "/proc/self/fd"])
        let fds = listed.stdout.split(separator: "\n").compactMap { Int($0) }.sorted()
        // 0, 1, 2 and the directory ls itself has open.
        #expect(fds == [0, 1, 2, 3], "descriptors in the child: \(fds) (leaked: \(leaked))")
    }

    @Test func theSignalMaskAndIgnoredSignalsAreReset() throws {
        // As shipkeep's Interrupts do: SIGINT and SIGTERM blocked in the spawning thread, SIGPIPE ignored.
        var blocked = sigset_t(), previous = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGINT)
        sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        let oldPipe = signal(SIGPIPE, SIG_IGN)
        defer {
            pthread_sigmask(SIG_SETMASK, &previous, nil)
            signal(SIGPIPE, oldPipe)
        }
        let status = try run(["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"])
        let masks = Dictionary(uniqueKeysWithValues: status.stdout.split(separator: "\n").map { line in
            let field = line.split(whereSeparator: \.isWhitespace)
            return (String(field[0]), UInt64(field[1], radix: 16) ?? .max)
        })
        #expect(masks["SigBlk:"] == 0, "\(status.stdout)")
        // Bits 0-30 are signals 1-31; glibc keeps its own two real-time signals (32, 33) ignored in the child.
        #expect(masks["SigIgn:"].map { $0 & 0x7fff_ffff } == 0, "\(status.stdout)")
    }

    @Test func groupsAndSessionsAreWhatWasAsked() throws {
        // /proc/self/stat: pid (comm) state ppid pgrp session …
        func ids(_ group: ChildGroup) throws -> (pid: Int32, pgrp: Int32, session: Int32) {
            let stat = try run(["cat", "/proc/self/stat"], group: group).stdout
            let after = stat.split(separator: ")", maxSplits: 1).last!.split(separator: " ")
            let pid = Int32(stat.split(separator: " ")[0])!
            return (pid, Int32(after[2])!, Int32(after[3])!)
        }
        let inherited = try ids(.inherit)
        #expect(inherited.pgrp == getpgrp())
        let grouped = try ids(.newGroup)
        #expect(grouped.pgrp == grouped.pid && grouped.session == getsid(0))
        let session = try ids(.newSession)
        #expect(session.session == session.pid && session.pgrp == session.pid)
    }

    @Test func aTimeoutKillsTheWholeGroupEvenAGrandchildThatIgnoresSigterm() throws {
        let dir = try TempDir()
        let started = ContinuousClock.now
        // The grandchild ignores SIGTERM (an ignored signal survives exec), so only the SIGKILL after the grace
        // ends it.
        let script = "sh -c 'trap \"\" TERM; echo $$ > \(dir.path)/grandchild; exec sleep 60' & wait"
        let result = try ChildCommand(["sh", "-c", script], environment: Self.path, group: .newGroup,
                                      stdout: .capture).run(timeout: .seconds(1), grace: .milliseconds(500))
        #expect(result.timedOut)
        #expect(result.status == .signalled(SIGTERM))
        #expect(result.summary == "timed out after 1s and was killed")
        #expect(ContinuousClock.now - started < .seconds(10))
        let grandchild = try #require(Int32(dir.read("grandchild").split(separator: "\n").first ?? ""))
        // Gone, or a zombie until init reaps it.
        let deadline = ContinuousClock.now + .seconds(5)
        var state = TempDir.contents("/proc/\(grandchild)/stat")
        while let text = state, text.split(separator: " ")[2] != "Z", ContinuousClock.now < deadline {
            usleep(20_000)
            state = TempDir.contents("/proc/\(grandchild)/stat")
        }
        #expect(state == nil || state!.split(separator: " ")[2] == "Z", "grandchild \(grandchild): \(state ?? "")")
    }

    @Test func aBackgroundGrandchildHoldingTheOutputDoesNotHangTheCaller() throws {
        let dir = try TempDir()
        let started = ContinuousClock.now
        let result = try run(["sh", "-c", "sleep 30 & echo $! > \(dir.path)/pid; echo started"])
        #expect(result.stdout == "started\n" && result.succeeded)
        #expect(ContinuousClock.now - started < .seconds(5))
        if let pid = Int32(dir.read("pid").split(separator: "\n").first ?? "") { kill(pid, SIGKILL) }
    }

    @Test func captureStopsAtTheCapAndCountsWhatItDropped() throws {
        var lines = 0
        let result = try ChildCommand(["head", "-c", "100000", "/dev/zero"], environment: Self.path,
                                      stdout: .capture).run(captureLimit: 1000) { _, _ in lines += 1 }
        #expect(result.stdout.utf8.count == 1000)
        #expect(result.stdoutDropped == 99_000)
        #expect(result.stderrDropped == 0)
        // Streaming goes on past the cap: 100 000 bytes without a newline are two pieces of at most 64 KiB.
        #expect(lines == 2)
    }

    @Test func streamedLinesComeFromTheirStream() throws {
        var lines: [String] = []
        _ = try ChildCommand(["sh", "-c", "echo one; echo two >&2; printf three"], environment: Self.path,
                             stdout: .capture, stderr: .capture).run { lines.append("\($0.rawValue):\($1)") }
        #expect(lines.sorted() == ["stderr:two", "stdout:one", "stdout:three"])
    }

    @Test func theLineSplitterCapsALineWithoutSplittingACharacter() {
        var splitter = LineSplitter(maxLineBytes: 8)
        #expect(splitter.append(Array("abcdefghijkl\nxy".utf8)) == ["abcdefgh", "ijkl"])
        #expect(splitter.pendingByteCount == 2)
        #expect(splitter.finish() == "xy")
        #expect(splitter.finish() == nil)
        // "é" is two bytes at offsets 7 and 8: the piece ends before it.
        #expect(splitter.append(Array("abcdefgé\n".utf8)) == ["abcdefg", "é"])
        // A program that never writes a newline holds at most the cap.
        for _ in 0..<1000 { _ = splitter.append(Array(repeating: UInt8(ascii: "x"), count: 100)) }
        #expect(splitter.pendingByteCount <= 8)
    }

    @Test func exitAndSignalStatusesDecode() throws {
        #expect(TerminationStatus(waitStatus: 0) == .exited(0))
        #expect(TerminationStatus(waitStatus: 3 << 8) == .exited(3))
        #expect(TerminationStatus(waitStatus: 9) == .signalled(9))
        #expect(TerminationStatus(waitStatus: 0x80 | 11) == .signalled(11))  // with a core dump
        let exited = try run(["sh", "-c", "exit 7"])
        #expect(exited.status == .exited(7) && exited.status.shellStatus == 7 && !exited.succeeded)
        #expect(exited.summary == "exited with status 7")
        let killed = try run(["sh", "-c", "kill -KILL $$"])
        #expect(killed.status == .signalled(SIGKILL) && killed.status.shellStatus == 137)
        #expect(killed.summary == "was killed by signal 9")
    }

    @Test func terminateEndsALongRunningChildAndPollReapsOnce() throws {
        let child = try ChildProcess.spawn(ChildCommand(["sleep", "60"], environment: Self.path, group: .newGroup))
        #expect(child.poll() == nil)
        #expect(!child.hasExited)
        #expect(child.terminate(grace: .seconds(5)) == .signalled(SIGTERM))
        #expect(child.poll() == .signalled(SIGTERM))
        #expect(child.wait() == .signalled(SIGTERM))
    }
}

/// A private temporary directory, removed at the end.
private final class TempDir {
    let path: String

    init() throws {
        var template = Array("/tmp/processkit-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SpawnError(program: "mkdtemp", errno: errno) }
        path = String(cString: made)
    }

    deinit {
        _ = try? ChildCommand(["rm", "-rf", "--", path], environment: ["PATH": "/usr/bin:/bin"]).run()
    }

    func read(_ name: String) -> String { Self.contents(path + "/" + name) ?? "" }

    static func contents(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
