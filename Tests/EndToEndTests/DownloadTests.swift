import Foundation
import ShipkeepSandbox
import Testing

/// `shipkeep download` through a real sshd: the archive holds exactly the snapshot, unknown and damaged
/// snapshots fail with nothing written, and the system `tar` extracts what was downloaded.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct DownloadTests {
    private let longPath = "paper_trading_outputs/" + String(repeating: "archive-of-older-signals/", count: 5)
        + "signals-2026-11-25.jsonl"

    /// Data with what tar finds awkward (a path over 100 bytes, an empty file, a link), deployed once.
    private func deployed(_ vm: VMSandbox) throws -> String {
        try vm.fillData(files: 20, bytesEach: 64 * 1024)
        let long = vm.appPath + "/" + longPath
        try FileManager.default.createDirectory(atPath: (long as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 512).write(to: URL(fileURLWithPath: long))
        #expect(FileManager.default.createFile(atPath: vm.appPath + "/logs/empty.log", contents: Data()))
        try FileManager.default.createSymbolicLink(atPath: vm.appPath + "/logs/latest", withDestinationPath: "bot.log")
        let deploy = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
        #expect(deploy.status == 0, "\(deploy.stderr)")
        let result = try #require(jsonLines(deploy.stdout).last { $0["type"] as? String == "result" })
        let summary = try #require(result["deploy"] as? [String: Any])
        return try #require((summary["snapshot"] as? [String: Any])?["id"] as? String)
    }

    private func snapshotDir(_ vm: VMSandbox, _ id: String) -> String {
        vm.root + "/vm/state/bots/snapshots/" + id
    }

    /// Every path below `dir` (files, dirs and links), relative, except the manifest and its info.
    private func tree(_ dir: String) throws -> [String] {
        let all = try FileManager.default.subpathsOfDirectory(atPath: dir)
        return all.filter { $0 != "manifest.json" && $0 != "info.json" }.sorted()
    }

    /// Files in `dir` other than `keep`: partial downloads must not be left behind.
    private func leftovers(_ dir: String, keep: Set<String> = []) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { !keep.contains($0) }
    }

    /// Checks that `extracted` holds exactly the snapshot's entries, byte for byte and link for link.
    private func expectSameTree(_ extracted: String, as snapshot: String) throws {
        let paths = try tree(snapshot)
        #expect(try tree(extracted) == paths, "the archive holds exactly the snapshot's entries")
        #expect(paths.contains(longPath) && paths.contains("logs/empty.log") && paths.contains("logs/bot.log"))
        for path in paths {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: snapshot + "/" + path) {
                #expect(try FileManager.default.destinationOfSymbolicLink(atPath: extracted + "/" + path) == target)
            } else if !isDirectoryOrLink(snapshot + "/" + path) {
                #expect(FileManager.default.contents(atPath: extracted + "/" + path)
                    == FileManager.default.contents(atPath: snapshot + "/" + path), "\(path) differs")
            }
        }
    }

    /// Extracts `file` with the system's tar (`flags`: `--zstd -xf`, `-xzf`) into a new `dir`.
    private func extract(_ file: String, _ flags: [String], into dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        let tar = try runProcess(["tar"] + flags + [file, "-C", dir])
        #expect(tar.status == 0, "\(tar.stderr)")
    }

    @Test func theNewestSnapshotDownloadsAsZstdOrGzipAndExtractsToTheSameBytes() throws {
        try withSandbox(bot: true) { vm in
            let id = try deployed(vm)
            let out = try TemporaryDirectory()
            let file = out.path + "/backup.tar.zst"
            let output = try shipkeep(["download", "--json", "-o", file] + vm.controllerArguments)
            #expect(output.status == 0, "\(output.stderr)")
            let lines = jsonLines(output.stdout)
            #expect(lines.first?["type"] as? String == "archive")
            #expect(lines.first?["format"] as? String == "tar+zstd")
            #expect(!lines.contains { $0["type"] as? String == "chunk" }, "--json leaves the archive's bytes out")
            let result = try #require(lines.last)
            #expect(result["type"] as? String == "result" && result["ok"] as? Bool == true)
            let download = try #require(result["download"] as? [String: Any])
            #expect(download["snapshot"] as? String == id)
            #expect(download["format"] as? String == "tar+zstd")
            #expect(try leftovers(out.path) == ["backup.tar.zst"])
            let magic = try #require(FileManager.default.contents(atPath: file)).prefix(4)
            #expect(Array(magic) == [0x28, 0xB5, 0x2F, 0xFD], "a zstd frame")

            let snapshot = snapshotDir(vm, id)
            try extract(file, ["--zstd", "-xf"], into: out.path + "/extracted")
            try expectSameTree(out.path + "/extracted", as: snapshot)
            let paths = try tree(snapshot)
            #expect(download["files"] as? Int == paths.filter { !isDirectoryOrLink(snapshot + "/" + $0) }.count)

            // gzip on request, in the human form, with an explicit id, over an existing file.
            let gz = out.path + "/backup.tar.gz"
            try Data("an older backup\n".utf8).write(to: URL(fileURLWithPath: gz))
            let again = try shipkeep(["download", "--snapshot", id, "--format", "gz", "-o", gz]
                + vm.controllerArguments)
            #expect(again.status == 0, "\(again.stderr)")
            let files = try #require(download["files"] as? Int)
            #expect(again.stdout.contains("downloaded snapshot \(id): \(files) files, "), "\(again.stdout)")
            #expect(again.stdout.contains("verified → \(gz)"))
            #expect(Array(try #require(FileManager.default.contents(atPath: gz)).prefix(2)) == [0x1F, 0x8B], "gzip")
            try extract(gz, ["-xzf"], into: out.path + "/extracted-gz")
            try expectSameTree(out.path + "/extracted-gz", as: snapshot)

            // A flag that contradicts the name is a usage error, before anything is asked or written.
            let contradiction = try shipkeep(["download", "--format", "zst", "-o", out.path + "/b.tar.gz"]
                + vm.controllerArguments)
            #expect(contradiction.status == 64, "\(contradiction.stderr)")
            #expect(contradiction.stderr.contains("--format zst does not match"), "\(contradiction.stderr)")
            #expect(try Set(leftovers(out.path)) == ["backup.tar.zst", "backup.tar.gz", "extracted", "extracted-gz"])
        }
    }

    /// A stand-in for the agent on the VM: the real one, with its stdin and stdout passed through `filter`
    /// (python3 code run on every line, as `line`; what it leaves in `line` is sent on, nothing if it is None).
    /// A `frame` line's raw bytes are read with it, as `data`, and sent on after it; `out` writes text or bytes.
    private func filteredAgent(_ vm: VMSandbox, _ name: String, stdinFilter: String = "",
                               stdoutFilter: String) throws -> String {
        let filter = vm.root + "/\(name).py"
        try """
            import base64, json, os, signal, sys
            direction = sys.argv[1]
            held = []  # lines held back by a filter
            def out(text):
                sys.stdout.buffer.write(text if isinstance(text, bytes) else text.encode())
                sys.stdout.buffer.flush()
            while True:
                raw = sys.stdin.buffer.readline()
                if not raw:
                    break
                line, data = raw.decode(), b""
                if direction == "out" and line.startswith("{") and json.loads(line).get("type") == "frame":
                    data = sys.stdin.buffer.read(json.loads(line)["bytes"])
                if direction == "in":
                    \(stdinFilter.isEmpty ? "pass" : stdinFilter)
                else:
                    \(stdoutFilter)
                if line is not None:
                    out(line.encode() + data)

            """.write(toFile: filter, atomically: true, encoding: .utf8)
        let script = vm.root + "/\(name).sh"
        try """
            #!/bin/sh
            python3 -u '\(filter)' in \\
              | '\(vm.agentBinary)' serve --config '\(vm.agentConfigPath)' \\
              | python3 -u '\(filter)' out

            """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        return script
    }

    @Test func aDamagedOrCutStreamOrAnAgentWithoutZstdIsRefusedAndNothingIsKept() throws {
        try withSandbox(forcedCommand: false) { vm in
            try vm.fillData(files: 8, bytesEach: 64 * 1024)  // a few chunks
            let plain = try filteredAgent(vm, "plain", stdoutFilter: "pass")
            let deploy = try shipkeep(["deploy", "--agent-command", plain] + vm.controllerArguments)
            #expect(deploy.status == 0, "\(deploy.stderr)")
            let out = try TemporaryDirectory()
            let file = out.path + "/backup.tar.zst"
            try Data("an older backup\n".utf8).write(to: URL(fileURLWithPath: file))
            func download(through agent: String, _ extra: [String] = []) throws -> ProcessResult {
                try shipkeep(["download", "--json", "-o", file, "--agent-command", agent] + extra
                    + vm.controllerArguments)
            }
            func expectNothingKept(_ what: String) throws {
                #expect(FileManager.default.contents(atPath: file) == Data("an older backup\n".utf8), "\(what)")
                #expect(try leftovers(out.path) == ["backup.tar.zst"], "\(what): no partial file")
            }

            // The last chunk is held back with what follows it, changed by `mutate`, and sent on (in order) before
            // the result: its last byte is the end of zstd's checksum of the content. The agent seems one from
            // before frames (no download.frames in its hello), so these are base64 chunks.
            func lastChunk(_ mutate: String) -> String {
                """
                line = line.replace(',"download.frames"', '')
                        event = json.loads(line)
                        if event.get("type") == "chunk":
                            out("".join(held))
                            held, line = [line], None
                        elif held and event.get("type") != "result":
                            held, line = held + [line], None
                        elif held:
                            chunk = json.loads(held[0])
                            data = base64.b64decode(chunk["data"])
                            chunk["data"] = base64.b64encode(\(mutate)).decode()
                            held[0] = json.dumps(chunk, separators=(",", ":")) + "\\n"
                            out("".join(held))
                            held, data = [], b""
                """
            }
            // The same with binary frames: the last frame (its line and its bytes) held back with what follows,
            // then `mutate` run on its header (a dict, `frame`) and bytes (`data`) before all of it is sent on;
            // with `cut`, what came after the frame is not, and the output ends there (the whole forced command is
            // killed: a filter that only exits would leave the channel open).
            func lastFrame(_ mutate: String, cut: Bool = false) -> String {
                """
                event = json.loads(line)
                        if event.get("type") == "frame":
                            out(b"".join(held))
                            held, line = [line.encode() + data], None
                        elif held and event.get("type") != "result":
                            held, line = held + [line.encode() + data], None
                        elif held:
                            header, _, data = held[0].partition(b"\\n")
                            frame = json.loads(header)
                            \(mutate)
                            held[0] = json.dumps(frame, separators=(",", ":")).encode() + b"\\n" + data
                            out(b"".join(held))
                            held, data = [], b""
                            if \(cut ? "True" : "False"):
                                os.killpg(0, signal.SIGKILL)  # the agent, the filters and the shell: output ends
                """
            }
            let damaged = try filteredAgent(vm, "damaged", stdoutFilter: lastChunk("data[:-1] + bytes([data[-1] ^ 1])"))
            let bad = try download(through: damaged)
            #expect(bad.status == 1, "\(bad.stderr)")
            #expect(bad.stderr.contains("does not match its manifest") && bad.stderr.contains("damaged")
                && bad.stderr.contains("zstd"), "\(bad.stderr)")
            try expectNothingKept("a damaged stream")

            let cut = try filteredAgent(vm, "cut", stdoutFilter: lastChunk("data[:len(data) // 2]"))
            let short = try download(through: cut)
            #expect(short.status == 1, "\(short.stderr)")
            #expect(short.stderr.contains("cut short"), "\(short.stderr)")
            try expectNothingKept("a cut stream")

            // Binary frames (what this agent sends this controller): the archive is byte for byte the one the base64
            // chunks carry, and verified. Damaged, lying about its length or cut inside a frame, nothing is kept.
            let framed = out.path + "/framed.tar.zst"
            let viaFrames = try shipkeep(["download", "--json", "-o", framed, "--agent-command", plain]
                + vm.controllerArguments)
            #expect(viaFrames.status == 0, "\(viaFrames.stderr)")
            #expect(jsonLines(viaFrames.stdout).first?["framing"] as? String == "frames")
            #expect(!jsonLines(viaFrames.stdout).contains { $0["type"] as? String == "frame" })
            let chunked = out.path + "/chunked.tar.zst"
            let chunksOnly = try filteredAgent(vm, "chunks", stdoutFilter: """
                line = line.replace(',"download.frames"', '')
                """)
            let viaChunks = try shipkeep(["download", "--json", "-o", chunked, "--agent-command", chunksOnly]
                + vm.controllerArguments)
            #expect(viaChunks.status == 0, "\(viaChunks.stderr)")
            #expect(jsonLines(viaChunks.stdout).first?["framing"] == nil, "an agent without frames sends chunks")
            let framedBytes = try #require(FileManager.default.contents(atPath: framed))
            #expect(framedBytes == FileManager.default.contents(atPath: chunked), "the same archive either way")
            for name in ["framed.tar.zst", "chunked.tar.zst"] { unlink(out.path + "/" + name) }

            let flipped = try filteredAgent(vm, "flipped",
                                            stdoutFilter: lastFrame("data = data[:-1] + bytes([data[-1] ^ 1])"))
            let badFrame = try download(through: flipped)
            #expect(badFrame.status == 1, "\(badFrame.stderr)")
            #expect(badFrame.stderr.contains("does not match its manifest") && badFrame.stderr.contains("zstd"),
                    "\(badFrame.stderr)")
            try expectNothingKept("a damaged frame")
            let lying = try filteredAgent(vm, "lying", stdoutFilter: lastFrame("frame[\"bytes\"] += 7"))
            let liar = try download(through: lying)
            #expect(liar.status != 0 && liar.status != 64, "\(liar.stderr)")
            #expect(liar.stderr.contains("not the shipkeep protocol"), "\(liar.stderr)")
            try expectNothingKept("a frame longer than it says")
            let truncated = try filteredAgent(vm, "truncated",
                                              stdoutFilter: lastFrame("data = data[:len(data) // 2]", cut: true))
            let ended = try download(through: truncated)
            #expect(ended.status != 0 && ended.status != 64, "\(ended.stderr)")
            #expect(ended.stderr.contains("cut short") && ended.stderr.contains("into a frame of"), "\(ended.stderr)")
            try expectNothingKept("a stream cut inside a frame")

            // An agent from before zstd: no download.zstd in its hello; the download is refused before it starts.
            let old = try filteredAgent(vm, "old", stdoutFilter: """
                line = line.replace(',"download.zstd"', '')
                """)
            let refused = try download(through: old)
            #expect(refused.status != 0, "\(refused.stderr)")
            #expect(refused.stderr.contains("cannot send .tar.zst archives") && refused.stderr.contains("--format gz"),
                    "\(refused.stderr)")
            try expectNothingKept("an agent without zstd")
            // One that claims zstd but ignores the format asked for (sends gzip) is caught at its first event.
            let ignoring = try filteredAgent(vm, "ignoring", stdinFilter: """
                line = line.replace('"format":"tar+zstd",', '')
                """, stdoutFilter: "pass")
            let mislabelled = try download(through: ignoring)
            #expect(mislabelled.status != 0, "\(mislabelled.stderr)")
            #expect(mislabelled.stderr.contains("sent a tar+gzip archive, not the tar+zstd asked for"),
                    "\(mislabelled.stderr)")
            try expectNothingKept("an agent that ignores the format")
            // And the old agent still serves gzip when asked for it.
            let gz = out.path + "/backup.tar.gz"
            let fallback = try shipkeep(["download", "-o", gz, "--agent-command", old] + vm.controllerArguments)
            #expect(fallback.status == 0, "\(fallback.stderr)")
        }
    }

    @Test func anUnknownSnapshotFailsAndWritesNothing() throws {
        try withSandbox(bot: false) { vm in
            let out = try TemporaryDirectory()
            let file = out.path + "/backup.tar.gz"
            let none = try shipkeep(["download", "-o", file] + vm.controllerArguments)
            #expect(none.status == 1)
            #expect(none.stderr.contains("no complete snapshot yet"), "\(none.stderr)")
            #expect(try leftovers(out.path).isEmpty)

            let id = try deployed(vm)
            try Data("an older backup\n".utf8).write(to: URL(fileURLWithPath: file))
            for bad in ["20200101T000000Z-nope", "../\(id)", "."] {
                let output = try shipkeep(["download", "--json", "--snapshot", bad, "-o", file]
                    + vm.controllerArguments)
                let result = try #require(jsonLines(output.stdout).last)
                let code = (result["error"] as? [String: Any])?["code"] as? String
                #expect(code == "unknown_snapshot" || code == "invalid_snapshot", "\(bad): \(result)")
                // A spelling that is no snapshot id is a usage error (64); a well-formed id the VM lacks, a refusal.
                #expect(output.status == (code == "invalid_snapshot" ? 64 : 1), "\(bad): \(output.stderr)")
                #expect(output.stderr.contains("snapshot"), "\(output.stderr)")
            }
            #expect(FileManager.default.contents(atPath: file) == Data("an older backup\n".utf8), "FILE untouched")
            #expect(try leftovers(out.path) == ["backup.tar.gz"])
            let unwritable = try shipkeep(["download", "-o", out.path + "/no/such/dir/b.tar.gz"]
                + vm.controllerArguments)
            #expect(unwritable.status == 1)
            #expect(unwritable.stderr.contains("no/such/dir"), "\(unwritable.stderr)")
        }
    }

    @Test func aDamagedSnapshotIsNeverShippedAsGood() throws {
        try withSandbox(bot: false) { vm in
            let id = try deployed(vm)
            let out = try TemporaryDirectory()
            let file = out.path + "/backup.tar.gz"
            let victim = snapshotDir(vm, id) + "/paper_trading_outputs/history_7.jsonl"
            let original = try #require(FileManager.default.contents(atPath: victim))
            var flipped = original
            flipped[flipped.count / 2] ^= 0x01  // same size, one bit different
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: victim)
            try flipped.write(to: URL(fileURLWithPath: victim))

            let output = try shipkeep(["download", "--json", "-o", file] + vm.controllerArguments)
            #expect(output.status == 1, "\(output.stderr)")
            #expect(output.stderr.contains("paper_trading_outputs/history_7.jsonl"), "\(output.stderr)")
            #expect(output.stderr.contains("damaged"), "\(output.stderr)")
            let result = try #require(jsonLines(output.stdout).last)
            #expect((result["error"] as? [String: Any])?["code"] as? String == "snapshot_damaged")
            #expect(try leftovers(out.path).isEmpty, "no output and no partial file")

            // A file of the wrong size is refused too, before any of it is sent.
            try original.write(to: URL(fileURLWithPath: victim))
            let shorter = snapshotDir(vm, id) + "/paper_trading_outputs/history_3.jsonl"
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: shorter)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: shorter))
            try handle.truncate(atOffset: 100)
            try handle.close()
            let truncated = try shipkeep(["download", "-o", file] + vm.controllerArguments)
            #expect(truncated.status == 1)
            #expect(truncated.stderr.contains("history_3.jsonl") && truncated.stderr.contains("100 bytes"),
                    "\(truncated.stderr)")
            #expect(try leftovers(out.path).isEmpty)
        }
    }

    /// A download of 100 MiB of data, deployed first, started in the background and returned once its partial
    /// file next to `file` has data.
    private func downloadUnderWay(_ vm: VMSandbox, to file: String) throws -> BackgroundShipkeep {
        try vm.fillData(files: 100, bytesEach: 1 << 20)
        let deploy = try shipkeep(["deploy"] + vm.controllerArguments)
        #expect(deploy.status == 0, "\(deploy.stderr)")
        let download = try BackgroundShipkeep(["download", "-o", file] + vm.controllerArguments)
        let directory = (file as NSString).deletingLastPathComponent
        try waitUntil("the partial file has data") {
            try leftovers(directory).contains { name in
                let size = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int
                return name.hasSuffix(".partial") && (size ?? 0) > 0
            }
        }
        return download
    }

    @Test("an interrupted download (Ctrl-C, a cancelled CI job) leaves nothing behind", arguments: [SIGINT, SIGTERM])
    func anInterruptedDownloadLeavesNothing(signal: Int32) throws {
        try withSandbox(bot: false) { vm in
            let out = try TemporaryDirectory()
            let download = try downloadUnderWay(vm, to: out.path + "/b.tar.gz")
            download.kill(signal)
            #expect(try download.wait() != 0)
            #expect(try leftovers(out.path).isEmpty, "no partial file and no output")
        }
    }

    /// A download killed outright (SIGKILL) cannot clean up after itself: the next download to the same file
    /// removes the partial file it left, and leaves alone one that a running download holds.
    @Test func theNextDownloadRemovesAKilledOnesPartialFileButNotARunningOnes() throws {
        try withSandbox(bot: false) { vm in
            let out = try TemporaryDirectory()
            let file = out.path + "/b.tar.gz"
            let killed = try downloadUnderWay(vm, to: file)
            killed.kill(SIGKILL)
            #expect(try killed.wait() != 0)
            let abandoned = try leftovers(out.path)
            #expect(abandoned.count == 1 && abandoned[0].hasSuffix(".partial"), "\(abandoned)")

            // A running download's partial file: this test holds its lock, as that download would.
            let running = "b.tar.gz.0123abcd.partial"
            let holder = open(out.path + "/" + running, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            #expect(holder >= 0)
            defer { close(holder) }
            #expect(flock(holder, LOCK_EX) == 0)

            let again = try shipkeep(["download", "-o", file] + vm.controllerArguments)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stderr.contains("removed \(out.path)/\(abandoned.first ?? "?")"), "\(again.stderr)")
            #expect(try Set(leftovers(out.path)) == ["b.tar.gz", running])
        }
    }

    private func isDirectoryOrLink(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        return (info.st_mode & S_IFMT) == S_IFDIR || (info.st_mode & S_IFMT) == S_IFLNK
    }
}
