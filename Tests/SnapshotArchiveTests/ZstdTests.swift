import Foundation
import ShipkeepSandbox
import SnapshotArchive
import Testing

/// The zstd streams: against each other through tar, against the system's `zstd` and `tar --zstd`, in fixed
/// buffers and bounded memory, and refusing what is damaged, cut short or asks for too much memory.
@Suite struct ZstdTests {
    private static let members = TarGzipTests.members

    @Test("entries round-trip through tar and zstd, written and read in pieces of any size",
          arguments: [1, 511, 4096, 1 << 20], [64, 4096, 1 << 17])
    func roundTrip(chunk: Int, outputBuffer: Int) throws {
        let bytes = try ArchiveFixture(members: Self.members).tarZst(bufferSize: outputBuffer)
        #expect(try ArchiveFixture.read(bytes, chunk: chunk, compression: .zstd) == Self.members)
    }

    /// Text that compresses as bot output does, a little different every time so zstd cannot just repeat it.
    private static func lines(_ count: Int, from start: Int = 0) -> [UInt8] {
        var text = ""
        for index in start..<(start + count) {
            text += "{\"seq\":\(index),\"symbol\":\"BTC-USD\",\"px\":\(97_000 + index % 977).\(index % 10),"
                + "\"qty\":\(index % 13)}\n"
        }
        return Array(text.utf8)
    }

    @Test func bothSidesHandOnOutputInPiecesOfAtMostTheirBufferAndHoldTheSameMemoryHoweverLongTheStream() throws {
        let block = Self.lines(20_000)  // ~1.2 MB
        var largestPiece = 0
        var compressed: [UInt8] = []
        let zstd = try ZstdCompressor(level: 1, bufferSize: 4096) { piece in
            largestPiece = max(largestPiece, piece.count)
            compressed.append(contentsOf: piece)
        }
        var largestOut = 0
        var restored = 0
        var restoredHash = ContentHash()
        let unzstd = try ZstdDecompressor(bufferSize: 3000) { piece in
            largestOut = max(largestOut, piece.count)
            restored += piece.count
            restoredHash.update(piece)
        }
        var hash = ContentHash()
        var memory: (compressor: [Int], decompressor: [Int]) = ([], [])
        for round in 0..<48 {  // ~58 MB through both
            var piece = block
            piece.replaceSubrange(0..<8, with: Array(String(round + 10_000_000).utf8))
            try piece.withUnsafeBytes { raw in
                hash.update(raw)
                try zstd.compress(raw)
            }
            try compressed.withUnsafeBytes { try unzstd.decompress($0) }
            compressed.removeAll(keepingCapacity: true)
            if round == 8 || round == 47 {
                memory.compressor.append(zstd.memoryBytes)
                memory.decompressor.append(unzstd.memoryBytes)
            }
        }
        try zstd.finish()
        try compressed.withUnsafeBytes { try unzstd.decompress($0) }
        try unzstd.finish()
        #expect(restored == block.count * 48 && restoredHash.value == hash.value)
        #expect(largestPiece <= 4096 && largestOut <= 3000, "\(largestPiece), \(largestOut)")
        #expect(memory.compressor[0] == memory.compressor[1], "\(memory.compressor)")
        #expect(memory.decompressor[0] == memory.decompressor[1], "\(memory.decompressor)")
        #expect(memory.compressor[1] < 8 << 20 && memory.decompressor[1] < 4 << 20, "\(memory)")
    }

    /// A one-block zstd frame holding "A" whose header asks for a window of 2^`windowLog` bytes.
    private static func frame(windowLog: UInt8) -> [UInt8] {
        // Magic; frame header descriptor 0 (no checksum, no content size, not single-segment); the window
        // descriptor (exponent windowLog - 10, no mantissa); one raw last block of one byte.
        [0x28, 0xB5, 0x2F, 0xFD, 0x00, (windowLog - 10) << 3, 0x09, 0x00, 0x00, UInt8(ascii: "A")]
    }

    @Test func aFrameAskingForAWindowOverTheLimitIsRefusedNotAllocated() throws {
        var out: [UInt8] = []
        let fits = try ZstdDecompressor { out.append(contentsOf: $0) }
        try Self.frame(windowLog: UInt8(ZstdDecompressor.maxWindowLog)).withUnsafeBytes { try fits.decompress($0) }
        try fits.finish()
        #expect(out == [UInt8(ascii: "A")], "the hand-made frame is valid zstd")

        let greedy = try ZstdDecompressor { _ in }
        #expect(throws: ArchiveError.self, "a 128 MiB window") {
            try Self.frame(windowLog: 27).withUnsafeBytes { try greedy.decompress($0) }
        }
    }

    @Test func damagedOrShortStreamsAreRefused() throws {
        let bytes = try ArchiveFixture(members: Self.members).tarZst()
        func read(_ bytes: [UInt8]) throws { _ = try ArchiveFixture.read(bytes, compression: .zstd) }
        #expect(throws: ArchiveError.self, "cut short") { try read(Array(bytes.dropLast(9))) }
        #expect(throws: ArchiveError(.truncated, "the zstd stream is cut short"), "cut before its checksum") {
            let zstd = try ZstdDecompressor { _ in }
            try Array(bytes.dropLast(4)).withUnsafeBytes { try zstd.decompress($0) }
            try zstd.finish()
        }
        #expect(throws: ArchiveError.self, "data after the end") { try read(bytes + [0x28, 0xB5, 0x2F, 0xFD]) }
        var checksum = bytes
        checksum[bytes.count - 1] ^= 0x01
        #expect(throws: ArchiveError.self, "a wrong checksum") { try read(checksum) }
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x40
        #expect(throws: (any Error).self, "a flipped bit") { try read(flipped) }
        #expect(throws: ArchiveError.self, "not zstd") { try read(Array("plain text".utf8)) }
        let gzip = try ArchiveFixture(members: Self.members).tarGz()
        #expect(throws: ArchiveError.self, "gzip is not zstd") { try read(gzip) }
    }

    @Test func dataThatDoesNotCompressIsStoredAtAboutItsSize() throws {
        let noise = ArchiveFixture.noise(3 << 20, seed: 5)
        let zstd = try ZstdCompressor(level: 1) { _ in }
        try noise.withUnsafeBytes { try zstd.compress($0) }
        try zstd.finish()
        #expect(zstd.bytesOut <= Int64(noise.count) + Int64(noise.count) / 500, "\(zstd.bytesOut) of \(noise.count)")
    }

    @Test func theSystemTarAndZstdReadWhatTheWriterWritesAndItReadsWhatTheyWrite() throws {
        let dir = try TemporaryDirectory()
        let archive = dir.path + "/a.tar.zst"
        try Data(try ArchiveFixture(members: Self.members).tarZst()).write(to: URL(fileURLWithPath: archive))
        let tested = try runProcess(["zstd", "-q", "-t", archive])
        #expect(tested.status == 0, "zstd -t: \(tested.stderr)")
        try FileManager.default.createDirectory(atPath: dir.path + "/out", withIntermediateDirectories: false)
        let extracted = try runProcess(["tar", "--zstd", "-xf", archive, "-C", dir.path + "/out"])
        #expect(extracted.status == 0 && extracted.stderr.isEmpty, "\(extracted.stderr)")
        for member in Self.members where member.entry.kind == .file {
            let path = dir.path + "/out/" + member.entry.path
            #expect(FileManager.default.contents(atPath: path).map(Array.init) == member.content, "\(path)")
        }

        try dir.write("data/lines.jsonl", String(decoding: Self.lines(5000), as: UTF8.self))
        let theirs = dir.path + "/sys.tar.zst"
        let created = try runProcess(["tar", "--zstd", "--format=pax", "-cf", theirs, "-C", dir.path, "data"])
        #expect(created.status == 0, "\(created.stderr)")
        let members = try ArchiveFixture.read(Array(try Data(contentsOf: URL(fileURLWithPath: theirs))),
                                              compression: .zstd)
        #expect(members.first { $0.entry.path == "data/lines.jsonl" }?.content == Self.lines(5000))
    }
}
