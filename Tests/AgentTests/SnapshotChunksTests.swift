import Foundation
import ShipkeepSandbox
import SnapshotArchive
import Testing
@testable import Agent
@testable import Shared

/// The chunked layout of large snapshot files (``SnapshotChunks``): a file that grew costs its new bytes; every
/// reader (restore, verify's repairs, download) reassembles it byte for byte and refuses a damaged chunk; pruning
/// keeps what a kept snapshot shares; snapshots of the whole-file layout keep working; a snapshot killed mid-write
/// leaves nothing that is used.
@Suite(.serialized, .timeLimit(.minutes(10))) struct SnapshotChunksTests {
    private let tmp: TemporaryDirectory
    private let app: AppConfig
    private var root: String { tmp.path + "/app" }
    private var big: String { root + "/out/big.jsonl" }
    private var store: SnapshotStore { SnapshotStore(dir: app.snapshots.dir) }
    private static let chunk = Int(SnapshotChunks.size)

    init() throws {
        tmp = try TemporaryDirectory()
        let yaml = "apps:\n  bots:\n    path: \(tmp.path)/app\n    data: [out]\n    state: \(tmp.path)/state\n"
            + "    snapshots: { dir: \(tmp.path)/snapshots, keep: 5 }\n"
        try tmp.write("etc/agent.yml", yaml)
        app = try #require(try AgentConfig.parse(yaml, file: "agent.yml").app("bots"))
        try tmp.write("app/out/small.txt", "small\n")
        try append(Self.random(2 * Self.chunk + 1000))
    }

    private static func random(_ count: Int) -> Data {
        let fd = open("/dev/urandom", O_RDONLY)
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count { done += bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, count - done) } }
        return Data(bytes)
    }

    private func append(_ data: Data) throws {
        let fd = open(big, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        defer { close(fd) }
        #expect(data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == data.count)
    }

    private func snapshot() throws -> Manifest {
        let scan = try DataScan.walk(root: root, dataDirs: app.data)
        return try store.create(root: root, dataDirs: app.data, scan: scan, deploy: "d-test", commit: nil) { _, _ in }
    }

    private func live() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: big)) }

    private func entry(_ manifest: Manifest) throws -> Manifest.Entry {
        try #require(manifest.entries.first { $0.path == "out/big.jsonl" })
    }

    private func chunkFile(_ manifest: Manifest, _ index: Int) throws -> String {
        SnapshotChunks.directory(of: store.dir + "/" + manifest.info.id) + "/" + (try entry(manifest).chunks![index])
    }

    /// Restores the big file from `manifest` into the (emptied) work tree and returns its bytes.
    private func restored(_ manifest: Manifest) throws -> Data {
        unlink(big)
        let outcome = try Restorer(app: app, store: store, manifest: manifest).run(paths: ["out/big.jsonl"],
                                                                                  force: false) { _ in }
        #expect(outcome.restored == ["out/big.jsonl"])
        return try live()
    }

    /// Exports `manifest` as `download` streams it and unpacks it with tar; returns the big file's bytes.
    private func downloaded(_ manifest: Manifest) throws -> Data {
        var archive = Data()
        _ = try SnapshotExporter(store: store, manifest: manifest, format: .tarGzip).run(chunk: { archive.append(contentsOf: $0) },
                                                                       progress: { _ in })
        let dir = tmp.path + "/download-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try archive.write(to: URL(fileURLWithPath: dir + ".tar.gz"))
        let untar = try runProcess(["tar", "-xzf", dir + ".tar.gz", "-C", dir])
        #expect(untar.status == 0, "\(untar.stderr)")
        return try Data(contentsOf: URL(fileURLWithPath: dir + "/out/big.jsonl"))
    }

    @Test func aGrownFileCostsItsNewBytesAndComesBackByteIdentical() throws {
        let first = try snapshot()
        #expect(try entry(first).chunks?.count == 3)
        #expect(first.info.copiedBytes == Int64(2 * Self.chunk + 1000 + 6))
        let before = try live()

        try append(Self.random(100_000))
        let second = try snapshot()
        let grown = try entry(second)
        let grownBytes = try live()
        #expect(grown.chunks?.count == 3 && grown.hash == ContentHash.of(Array(grownBytes)))
        // Only the last chunk (its old 1,000 bytes and the 100,000 new ones) was written; the others are links.
        #expect(second.info.copiedBytes == 101_000)
        for index in 0..<2 {
            var old = stat(), new = stat()
            let (was, now) = (try chunkFile(first, index), try chunkFile(second, index))
            #expect(stat(was, &old) == 0 && stat(now, &new) == 0)
            #expect(old.st_ino == new.st_ino && new.st_nlink == 2)
        }
        #expect(access(store.filePath(second.info.id, "out/big.jsonl"), F_OK) != 0, "no whole copy beside the chunks")

        // Unchanged since: linked whole, nothing written.
        let third = try snapshot()
        #expect(third.info.copiedBytes == 0 && third.info.linked == 2)

        let after = try live()
        #expect(try downloaded(second) == after)
        #expect(try restored(first) == before)
        #expect(try restored(third) == after)
    }

    /// The whole file's hash is carried on from the previous snapshot's hash state past the chunks proven and
    /// linked from it, and stays the hash of the bytes stored whichever way it is taken: carried on, taken again
    /// over the stored chunks before one in the middle that was rewritten in place, after a shrink to a whole
    /// number of chunks, and from the start without a state (a manifest from before it).
    @Test func theWholeHashIsCarriedOnAndAlwaysMatchesTheBytesStored() throws {
        let bytes = Array(Self.random(3 * 1000))
        var head = ContentHash()
        bytes.withUnsafeBytes { head.update(UnsafeRawBufferPointer(rebasing: $0[0..<1024])) }
        #expect(head.value == ContentHash.of(Array(bytes[0..<1024])))
        let checkpoint = try #require(head.checkpoint)
        var carried = try #require(ContentHash(checkpoint: checkpoint))
        bytes.withUnsafeBytes { carried.update(UnsafeRawBufferPointer(rebasing: $0[1024...])) }
        #expect(carried.value == ContentHash.of(bytes) && carried.length == 3000)
        #expect(ContentHash(checkpoint: "21:1:2:3:4") == nil, "not a whole number of stripes")
        #expect(ContentHash(checkpoint: "0:1:2:3") == nil && ContentHash(checkpoint: "x:1:2:3:4") == nil)

        func check(_ manifest: Manifest, chunks: Int, state: Int?,
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
            let file = try entry(manifest)
            let now = try live()
            #expect(file.chunks?.count == chunks && file.hash == ContentHash.of(Array(now)),
                    sourceLocation: sourceLocation)
            let length = file.hashState.flatMap(ContentHash.init(checkpoint:))?.length
            #expect(length == state.map { Int64($0 * Self.chunk) }, sourceLocation: sourceLocation)
            #expect(try downloaded(manifest) == now, sourceLocation: sourceLocation)
        }
        let first = try snapshot()
        try check(first, chunks: 3, state: 2)
        // Grown within its last chunk, then past a chunk boundary: carried on from the state.
        try append(Self.random(1000))
        try check(try snapshot(), chunks: 3, state: 2)
        try append(Self.random(Self.chunk))
        let grown = try snapshot()
        try check(grown, chunks: 4, state: 3)
        #expect(grown.info.copiedBytes == Int64(Self.chunk + 2000), "the last chunk and the new one written")

        // Chunk 2 of 4 rewritten in place, then appended to: written again, and the hash taken over the chunk
        // before it as stored.
        let fd = open(big, O_WRONLY)
        let other = Array(Self.random(100))
        #expect(pwrite(fd, other, other.count, off_t(Self.chunk + 500)) == other.count)
        close(fd)
        try append(Self.random(10))
        let rewritten = try snapshot()
        try check(rewritten, chunks: 4, state: 3)
        #expect(try entry(rewritten).chunks?[1] != (try entry(grown).chunks?[1]), "the rewritten chunk is new")
        for index in [0, 2] {
            var was = stat(), now = stat()
            let (old, new) = (try chunkFile(grown, index), try chunkFile(rewritten, index))
            #expect(stat(old, &was) == 0 && stat(new, &now) == 0)
            #expect(was.st_ino == now.st_ino, "chunk \(index + 1) is linked")
        }

        // Shrunk (same inode) to exactly two chunks: both proven, the hash state of the previous carried.
        #expect(truncate(big, off_t(2 * Self.chunk)) == 0)
        try check(try snapshot(), chunks: 2, state: 2)

        // A previous manifest without a hash state (written before it existed): the file is hashed whole.
        let latest = try #require(store.latest())
        var stripped = latest
        stripped.entries = latest.entries.map { var entry = $0; entry.hashState = nil; return entry }
        let path = store.dir + "/" + latest.info.id + "/" + Manifest.fileName
        unlink(path)
        try Data(stripped.encoded()).write(to: URL(fileURLWithPath: path))
        try append(Self.random(4000))
        try check(try snapshot(), chunks: 3, state: 2)
    }

    /// Verify (and the data guard) prove a chunked file that grew since its snapshot chunk by chunk, against the
    /// hashes its chunk names record, and find a byte changed within them.
    @Test func verifyProvesAGrownChunkedFileChunkByChunk() throws {
        let manifest = try snapshot()
        try append(Self.random(1000))
        let verifier = DataVerifier(root: root, store: store, manifest: manifest, deploy: "d-test")
        var hashed: Int64 = 0
        #expect(try verifier.inspect(.prefixes, hashed: &hashed).isEmpty)
        #expect(hashed == Int64(2 * Self.chunk + 1000))
        let fd = open(big, O_RDWR)
        var byte: UInt8 = 0
        #expect(pread(fd, &byte, 1, off_t(Self.chunk + 7)) == 1)
        byte ^= 0x01
        #expect(pwrite(fd, &byte, 1, off_t(Self.chunk + 7)) == 1)
        close(fd)
        #expect(try verifier.inspect(.prefixes, hashed: &hashed).map(\.kind) == [.altered])
    }

    @Test func aDamagedChunkIsRefusedByDownloadRestoreAndRepair() throws {
        let manifest = try snapshot()
        let path = try chunkFile(manifest, 1)
        chmod(path, 0o600)
        let fd = open(path, O_RDWR)
        var byte: UInt8 = 0
        #expect(pread(fd, &byte, 1, 12_345) == 1)
        byte ^= 0x01
        #expect(pwrite(fd, &byte, 1, 12_345) == 1)
        close(fd)

        #expect { try downloaded(manifest) } throws: { error in
            "\(error)".contains("is damaged: out/big.jsonl") && "\(error)".contains("chunk 2 of 3")
        }
        unlink(big)
        #expect { try Restorer(app: app, store: store, manifest: manifest).run(paths: nil, force: false) { _ in } }
            throws: { "\($0)".contains("chunk 2 of 3") }
        #expect(access(big, F_OK) != 0, "nothing restored from the damaged chunk")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/out") == ["small.txt"])

        // Verify's repair of a shrunk file checks the snapshot's copy before it writes over the live file.
        let shrunk = Self.random(1000)
        try shrunk.write(to: URL(fileURLWithPath: big))
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: big)
        var damaged = try entry(manifest)
        #expect(damaged.dataKind == .append)
        damaged.inode = try #require(FileManager.default.attributesOfItem(atPath: big)[.systemFileNumber] as? UInt64)
        var shrunkManifest = manifest
        shrunkManifest.entries = manifest.entries.map { $0.path == damaged.path ? damaged : $0 }
        #expect { try DataVerifier(root: root, store: store, manifest: shrunkManifest, deploy: "d-test").run { _, _ in } }
            throws: { "\($0)".contains("chunk 2 of 3") }
        #expect(try live() == shrunk, "the live file is left as it was found")
    }

    @Test func pruningTheOlderSnapshotKeepsTheChunksTheNewerShares() throws {
        let first = try snapshot()
        try append(Self.random(5000))
        let second = try snapshot()
        #expect(store.prune(keep: 1) == [first.info.id])
        #expect(access(store.dir + "/" + first.info.id, F_OK) != 0)
        let now = try live()
        #expect(try downloaded(second) == now)
        #expect(try restored(second) == now)
    }

    /// A snapshot written as before chunks (the big file whole at its path, no chunk list) restores and
    /// downloads, and the next snapshot of the grown file chunks it.
    @Test func aSnapshotInTheWholeFileLayoutStillWorks() throws {
        let before = try live()
        let id = "20260101T000000Z-0ld1ay0t"
        let dir = store.dir + "/" + id
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try before.write(to: URL(fileURLWithPath: dir + "/out/big.jsonl"))
        var info = stat()
        #expect(stat(big, &info) == 0)
        let file = Manifest.Entry(path: "out/big.jsonl", kind: .file, size: Int64(before.count),
                                  mtime: FileSystem.mtime(info), mode: 0o644, hash: ContentHash.of(Array(before)),
                                  data: .append, inode: UInt64(info.st_ino))
        let manifest = Manifest(info: SnapshotInfo(id: id, createdAt: Timestamp(timeIntervalSince1970: 1_767_225_600),
                                                   deploy: "d-old", commit: nil, files: 1,
                                                   bytes: Int64(before.count), linked: 0, copied: 1,
                                                   copiedBytes: Int64(before.count)),
                                dataDirs: ["out"],
                                entries: [.init(path: "out", kind: .directory, mode: 0o755), file])
        try Data(manifest.encoded()).write(to: URL(fileURLWithPath: dir + "/" + Manifest.fileName))
        let old = try #require(store.manifest(id))

        #expect(try downloaded(old) == before)
        #expect(try restored(old) == before)
        try append(Self.random(3000))
        let next = try snapshot()
        #expect(try entry(next).chunks?.count == 3)
        let now = try live()
        #expect(try restored(next) == now)
        #expect(try restored(old) == before)
    }

    /// `shipkeep-agent snapshot` stopped at its first chunk written (the `snapshot-copy` fault point) and killed:
    /// the half-written snapshot is never listed, linked against, restored or downloaded; the next one removes
    /// it and is whole.
    @Test func aSnapshotKilledMidWriteLeavesNothingUsed() throws {
        for argv in [["git", "init", "-q", "-b", "main", root],
                     ["git", "-C", root, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q",
                      "--allow-empty", "-m", "init"]] {
            let result = try runProcess(argv)
            #expect(result.status == 0, "\(result.stderr)")
        }
        let agent = try BuildProducts.path("shipkeep-agent")
        let argv = [agent, "snapshot", "--config", tmp.path + "/etc/agent.yml", "--app", "bots"]
        let first = try runProcess(argv)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let complete = try #require(store.latest())
        let before = try live()

        try append(Self.random(Self.chunk))
        try FileManager.default.createDirectory(atPath: app.state, withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: app.state + "/fault-pause-snapshot-copy"))
        let paused = try BackgroundCommand(argv)
        let deadline = Timestamp.now().addingTimeInterval(120)
        while Self.processState(paused.pid) != "T" {
            #expect(Timestamp.now() < deadline && paused.isRunning, "the snapshot did not stop at its first chunk")
            if Timestamp.now() >= deadline || !paused.isRunning { return }
            usleep(20_000)
        }
        paused.kill(SIGKILL)

        let partials = try FileManager.default.contentsOfDirectory(atPath: store.dir).filter { $0.hasSuffix(".partial") }
        #expect(partials.count == 1)
        let written = try FileManager.default.contentsOfDirectory(
            atPath: SnapshotChunks.directory(of: store.dir + "/" + partials[0]))
        #expect(!written.isEmpty, "it was killed after writing a chunk")
        #expect(store.ids() == [complete.info.id] && store.latest()?.info.id == complete.info.id)
        #expect(try restored(complete) == before)

        try append(Self.random(10))
        let next = try runProcess(argv)
        #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.dir).allSatisfy { !$0.hasSuffix(".partial") })
        let now = try live()
        let latest = try #require(store.latest())
        #expect(latest.info.id != complete.info.id)
        #expect(try downloaded(latest) == now)
        #expect(try restored(latest) == now)
    }

    /// The state letter of `/proc/PID/stat` (`T` when stopped).
    private static func processState(_ pid: Int32) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ").first.map(String.init)
    }

    /// A proof started ahead (in a deploy's preflight) is what the snapshot uses for the same file, and only
    /// for it: the grown file's old chunks are linked, not written again; a file replaced by another (a new
    /// inode) after its proof started is stored as it is now, byte for byte.
    @Test func proofsStartedAheadServeOnlyTheFileTheyRead() throws {
        let first = try snapshot()
        try append(Self.random(3000))
        ChunkProofsAhead.start(root: root, manifest: first)
        let grown = try snapshot()
        #expect(grown.info.copiedBytes < Int64(Self.chunk), "the old chunks were linked: \(grown.info)")
        #expect(try restored(grown) == (try live()))
        #expect(try entry(grown).chunks!.prefix(2) == (try entry(first).chunks!.prefix(2)))

        // Another file of the same size takes its place after its proof started: nothing of the proof is used.
        ChunkProofsAhead.start(root: root, manifest: grown)
        let other = Self.random(Int(try entry(grown).size!))
        try other.write(to: URL(fileURLWithPath: big + ".new"))
        #expect(rename(big + ".new", big) == 0)
        let replaced = try snapshot()
        #expect(try restored(replaced) == other)
        #expect(try entry(replaced).hash == ContentHash.of([UInt8](other)))

        // A FIFO in its place (a hostile bot's) is passed over at once: no open(2) waits for a writer.
        #expect(unlink(big) == 0 && mkfifo(big, 0o644) == 0)
        ChunkProofsAhead.start(root: root, manifest: replaced)
        #expect(ChunkProofsAhead.take(path: "out/big.jsonl", fd: -1, chunkSize: SnapshotChunks.size,
                                      length: Int64(2 * Self.chunk)) == nil)
        ChunkProofsAhead.cancelAll()
        unlink(big)
    }
}
