import Foundation
import ShipkeepSandbox
import SnapshotArchive
import Testing

/// The tar writer and reader and the gzip streams, against each other and against the system's `tar`.
@Suite struct TarGzipTests {
    private static let longDirectory = "paper_trading_outputs/" + String(repeating: "deep/", count: 30)
    static let members: [ArchiveFixture.Member] = [
        .init(entry: TarEntry(path: "logs", kind: .directory, mode: 0o755, mtime: 1_760_000_000)),
        .init(entry: TarEntry(path: "logs/empty.log", kind: .file, size: 0, mode: 0o644, mtime: 1_760_000_001)),
        .init(entry: TarEntry(path: "logs/block.bin", kind: .file, size: 512, mode: 0o600, mtime: 1_760_000_002),
              content: ArchiveFixture.noise(512)),
        .init(entry: TarEntry(path: "logs/block+1.bin", kind: .file, size: 513, mode: 0o644, mtime: 1_760_000_003),
              content: ArchiveFixture.noise(513, seed: 7)),
        .init(entry: TarEntry(path: "logs/lines.log", kind: .file, size: 70_000, mtime: 1_760_000_004),
              content: Array(String(repeating: "tick 42 BTC-USD 97000.5\n", count: 2917).utf8.prefix(70_000))),
        .init(entry: TarEntry(path: String(longDirectory.dropLast()), kind: .directory, mode: 0o755)),
        .init(entry: TarEntry(path: longDirectory + "history-with-a-long-name.jsonl", kind: .file, size: 1024),
              content: ArchiveFixture.noise(1024, seed: 3)),
        .init(entry: TarEntry(path: "logs/名前-ünïcode.log", kind: .file, size: 5), content: Array("hallo".utf8)),
        .init(entry: TarEntry(path: "logs/latest", kind: .symlink, mode: 0o777, linkTarget: "lines.log")),
        .init(entry: TarEntry(path: "logs/far", kind: .symlink, mode: 0o777,
                              linkTarget: String(repeating: "../x/", count: 30) + "target")),
    ]

    @Test("entries round-trip through tar and gzip, read in pieces of any size",
          arguments: [1, 511, 512, 4096, 1 << 20])
    func roundTrip(chunk: Int) throws {
        let bytes = try ArchiveFixture(members: Self.members).tarGz()
        #expect(try ArchiveFixture.read(bytes, chunk: chunk) == Self.members)
    }

    @Test func theSystemTarExtractsWhatTheWriterWrites() throws {
        let dir = try TemporaryDirectory()
        let archive = dir.path + "/a.tar.gz"
        try Data(try ArchiveFixture(members: Self.members).tarGz(level: 1)).write(to: URL(fileURLWithPath: archive))
        try FileManager.default.createDirectory(atPath: dir.path + "/out", withIntermediateDirectories: false)
        let listed = try runProcess(["tar", "-tzf", archive])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stderr.isEmpty, "tar warned: \(listed.stderr)")
        let extracted = try runProcess(["tar", "-xzf", archive, "-C", dir.path + "/out"])
        #expect(extracted.status == 0, "\(extracted.stderr)")
        for member in Self.members {
            let path = dir.path + "/out/" + member.entry.path
            switch member.entry.kind {
            case .file:
                #expect(FileManager.default.contents(atPath: path).map(Array.init) == member.content, "\(path)")
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                #expect((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 == Double(member.entry.mtime))
            case .directory:
                var isDirectory: ObjCBool = false
                let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                #expect(exists && isDirectory.boolValue)
            case .symlink:
                #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path) == member.entry.linkTarget)
            }
        }
    }

    @Test func theReaderReadsWhatTheSystemTarWritesInPaxFormat() throws {
        let dir = try TemporaryDirectory()
        let long = String(repeating: "long-directory-name/", count: 8)
        try dir.write("data/" + long + "file.txt", "content\n")
        try dir.write("data/empty", "")
        let archive = dir.path + "/sys.tar.gz"
        let created = try runProcess(["tar", "--format=pax", "-czf", archive, "-C", dir.path, "data"])
        #expect(created.status == 0, "\(created.stderr)")
        let members = try ArchiveFixture.read(Array(try Data(contentsOf: URL(fileURLWithPath: archive))))
        let file = try #require(members.first { $0.entry.path == "data/" + long + "file.txt" })
        #expect(file.content == Array("content\n".utf8))
        #expect(members.first { $0.entry.path == "data/empty" }?.entry.size == 0)
        #expect(members.contains { $0.entry.path == "data" && $0.entry.kind == .directory })
    }

    @Test func anEntryMustHaveExactlyTheDeclaredSize() throws {
        var tar = TarWriter { _ in }
        try tar.begin(TarEntry(path: "a", kind: .file, size: 3))
        #expect(throws: ArchiveError.self) { try [UInt8]([1, 2, 3, 4]).withUnsafeBytes { try tar.write($0) } }
        try [UInt8]([1, 2]).withUnsafeBytes { try tar.write($0) }
        #expect(throws: ArchiveError(.sizeMismatch, "a has 1 bytes fewer than the 3 declared")) { try tar.end() }
    }

    @Test func damagedOrShortArchivesAreRefused() throws {
        let bytes = try ArchiveFixture(members: Self.members).tarGz()
        #expect(throws: ArchiveError.self, "cut short") { try ArchiveFixture.read(Array(bytes.dropLast(9))) }
        #expect(throws: ArchiveError.self, "data after the end") { try ArchiveFixture.read(bytes + [0x1F, 0x8B]) }
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x40
        #expect(throws: ArchiveError.self, "a flipped bit") { try ArchiveFixture.read(flipped) }
        #expect(throws: ArchiveError.self, "not gzip") { try ArchiveFixture.read(Array("plain text".utf8)) }
    }

    @Test func aTarHeaderWithABadChecksumIsRefused() throws {
        var tar: [UInt8] = []
        var writer = TarWriter { tar.append(contentsOf: $0) }
        try writer.begin(TarEntry(path: "a.txt", kind: .file, size: 0))
        try writer.end()
        try writer.finish()
        tar[0] = UInt8(ascii: "b")  // the name changes, the checksum does not
        var reader = TarReader()
        #expect(throws: ArchiveError.self) { try tar.withUnsafeBytes { try reader.feed($0) { _ in } } }
    }

    @Test func aTarStreamWithoutItsEndMarkerIsTruncated() throws {
        var tar: [UInt8] = []
        var writer = TarWriter { tar.append(contentsOf: $0) }
        try writer.begin(TarEntry(path: "a.txt", kind: .file, size: 10))
        try [UInt8](repeating: 65, count: 10).withUnsafeBytes { try writer.write($0) }
        try writer.end()
        var reader = TarReader()
        try tar.withUnsafeBytes { try reader.feed($0) { _ in } }
        #expect(throws: ArchiveError.self) { try reader.finish() }
    }

    @Test func contentHashMatchesTheXXH64ReferenceValues() {
        #expect(ContentHash.of([]) == "xxh64:ef46db3751d8e999")
        #expect(ContentHash.of(Array("abc".utf8)) == "xxh64:44bc2cf5ad770999")
    }
}

/// Changing the level mid-stream: what the exporter does for files that do not compress.
@Suite struct GzipLevelTests {
    @Test func levelsCanChangeMidStreamAndStoredDataStaysTheSameSize() throws {
        let text = Array(String(repeating: "{\"seq\":1,\"px\":97000.5}\n", count: 40_000).utf8)
        let noise = ArchiveFixture.noise(3 << 20)
        var out: [UInt8] = []
        let gzip = try GzipCompressor(level: 1) { out.append(contentsOf: $0) }
        try text.withUnsafeBytes { try gzip.compress($0) }
        try gzip.setLevel(0)
        let before = gzip.bytesOut
        try noise.withUnsafeBytes { try gzip.compress($0) }
        try gzip.setLevel(1)
        let stored = gzip.bytesOut - before
        try text.withUnsafeBytes { try gzip.compress($0) }
        try gzip.finish()
        #expect(stored <= Int64(noise.count) + Int64(noise.count) / 1000 + 64, "stored, not deflated: \(stored)")
        #expect(out.count < noise.count + text.count / 2, "the text around it is still compressed")
        var back: [UInt8] = []
        let gunzip = try GzipDecompressor { back.append(contentsOf: $0) }
        try out.withUnsafeBytes { try gunzip.decompress($0) }
        try gunzip.finish()
        #expect(back == text + noise + text)
    }

    @Test func aLevelZlibRefusesIsAnErrorNotADoubleFree() {
        #expect(throws: ArchiveError.self) { _ = try GzipCompressor(level: 42) { _ in } }
    }

    @Test func deflateAtLevelOneDoesNotShrinkNoiseBelowTheStoreThreshold() throws {
        // The exporter stores a file once its first 256 KiB come out above 90%; noise must trip that.
        let noise = ArchiveFixture.noise(1 << 18, seed: 11)
        let gzip = try GzipCompressor(level: 1) { _ in }
        try noise.withUnsafeBytes { try gzip.compress($0) }
        #expect(Double(gzip.bytesOut) / Double(gzip.bytesIn) > 0.9, "\(gzip.bytesOut) of \(gzip.bytesIn)")
    }
}
