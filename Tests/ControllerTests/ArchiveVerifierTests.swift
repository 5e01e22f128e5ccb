import Foundation
import Shared
import ShipkeepSandbox
import SnapshotArchive
import Testing
@testable import Controller

/// The controller's own check of a downloaded archive: whatever the agent sent, only an archive that is
/// exactly the manifest passes.
@Suite struct ArchiveVerifierTests {
    private static let content = Array("{\"seq\":1}\n{\"seq\":2}\n".utf8)
    private static let manifest = [
        ArchiveEntry(path: "logs", kind: .directory),
        ArchiveEntry(path: "logs/bot.log", kind: .file, size: Int64(content.count), hash: ContentHash.of(content)),
        ArchiveEntry(path: "logs/empty.log", kind: .file, size: 0, hash: ContentHash.of([])),
        ArchiveEntry(path: "logs/latest", kind: .symlink, target: "bot.log"),
    ]

    /// A `.tar.gz` or `.tar.zst` of `entries` (file content from `content(path)`).
    private func archive(_ entries: [TarEntry], _ compression: ArchiveCompression = .gzip,
                         content: (String) -> [UInt8] = { _ in Self.content }) throws -> [UInt8] {
        var bytes: [UInt8] = []
        let compressor: any StreamCompressor = compression == .gzip
            ? try GzipCompressor(level: 1) { bytes.append(contentsOf: $0) }
            : try ZstdCompressor(level: 1) { bytes.append(contentsOf: $0) }
        var tar = TarWriter { try compressor.compress($0) }
        for entry in entries {
            try tar.begin(entry)
            if entry.kind == .file { try content(entry.path).withUnsafeBytes { try tar.write($0) } }
            try tar.end()
        }
        try tar.finish()
        try compressor.finish()
        return bytes
    }

    /// Checks `bytes` as a download does, fed as they would arrive, in pieces.
    private func verify(_ bytes: [UInt8], _ compression: ArchiveCompression = .gzip,
                        manifest: [ArchiveEntry] = Self.manifest) throws(ArchiveVerifier.Mismatch)
        -> ArchiveVerifier.Summary {
        let verification = try ArchiveVerifier(manifest: manifest).stream(compression)
        var offset = 0
        while offset < bytes.count {
            try verification.feed(Array(bytes[offset..<min(bytes.count, offset + 700)]))
            offset += 700
        }
        return try verification.finish()
    }

    private var goodEntries: [TarEntry] {
        [TarEntry(path: "logs", kind: .directory),
         TarEntry(path: "logs/bot.log", kind: .file, size: Int64(Self.content.count)),
         TarEntry(path: "logs/empty.log", kind: .file, size: 0),
         TarEntry(path: "logs/latest", kind: .symlink, linkTarget: "bot.log")]
    }

    private func mismatch(_ entries: [TarEntry], manifest: [ArchiveEntry] = Self.manifest,
                          content: @escaping (String) -> [UInt8] = { _ in Self.content }) throws -> String {
        let bytes = try archive(entries, content: { $0 == "logs/empty.log" ? [] : content($0) })
        do {
            _ = try verify(bytes, manifest: manifest)
            return "passed"
        } catch {
            return error.description
        }
    }

    @Test("an archive that is exactly the manifest passes", arguments: ArchiveCompression.allCases)
    func anArchiveThatIsExactlyTheManifestPasses(compression: ArchiveCompression) throws {
        let bytes = try archive(goodEntries, compression, content: { $0 == "logs/empty.log" ? [] : Self.content })
        let summary = try verify(bytes, compression)
        #expect(summary == .init(files: 2, bytes: Int64(Self.content.count)))
    }

    @Test func changedContentIsCaughtByItsHash() throws {
        var altered = Self.content
        altered[3] = UInt8(ascii: "X")
        let message = try mismatch(goodEntries, content: { _ in altered })
        #expect(message.contains("logs/bot.log") && message.contains("content hash"), "\(message)")
    }

    @Test func missingAndExtraEntriesAreCaught() throws {
        let missing = try mismatch(goodEntries.filter { $0.path != "logs/empty.log" })
        #expect(missing.contains("missing") && missing.contains("logs/empty.log"), "\(missing)")
        let extra = try mismatch(goodEntries
            + [TarEntry(path: "logs/extra", kind: .file, size: Int64(Self.content.count))])
        #expect(extra.contains("logs/extra") && extra.contains("does not"), "\(extra)")
        let twice = try mismatch(goodEntries + [goodEntries[1]])
        #expect(twice.contains("twice"), "\(twice)")
    }

    @Test("unsafe paths are refused even when the manifest names them",
          arguments: ["../outside", "/etc/cron.d/x", "logs/../../x", "logs/latest/escape"])
    func unsafePathsAreRefused(path: String) throws {
        let manifest = Self.manifest + [ArchiveEntry(path: path, kind: .file, size: 3, hash: ContentHash.of([1, 2, 3]))]
        let message = try mismatch(goodEntries + [TarEntry(path: path, kind: .file, size: 3)], manifest: manifest,
                                   content: { $0 == path ? [1, 2, 3] : Self.content })
        #expect(message.contains("unsafe") || message.contains("symbolic link"), "\(message)")
    }

    /// The one table of hostile paths (``HostileInputs``): an archive entry spelled so is refused, and the
    /// download is not kept, whatever the manifest says. Spellings tar itself cannot carry (NUL) are refused by
    /// the writer first; the verifier's rule is checked on them directly.
    @Test("every hostile path of the table is refused in an archive", arguments: HostileInputs.paths)
    func hostilePathsAreRefused(hostile: HostileInputs.Case) throws {
        let path = hostile.text
        let manifest = Self.manifest + [ArchiveEntry(path: path, kind: .file, size: 3, hash: ContentHash.of([1, 2, 3]))]
        let message: String
        do {
            message = try mismatch(goodEntries + [TarEntry(path: path, kind: .file, size: 3)], manifest: manifest,
                                   content: { $0 == path ? [1, 2, 3] : Self.content })
        } catch {
            #expect(RelativePath.problem(path) != nil, "tar refused \(hostile) (\(error)) but the rule accepts it")
            return
        }
        #expect(message != "passed", "\(hostile)")
        if message.contains("unsafe") { #expect(message.lowercased().contains(hostile.mentions), "\(message)") }
    }

    @Test func aLinkPointingElsewhereOrAKindChangeIsCaught() throws {
        var entries = goodEntries
        entries[3].linkTarget = "/etc/passwd"
        #expect(try mismatch(entries).contains("points elsewhere"))
        entries = goodEntries
        entries[0] = TarEntry(path: "logs", kind: .file, size: 0)
        #expect(try mismatch(entries, content: { $0 == "logs" ? [] : Self.content }).contains("in the manifest"))
    }

    @Test("a truncated or damaged archive is caught", arguments: ArchiveCompression.allCases)
    func aTruncatedOrDamagedArchiveIsCaught(compression: ArchiveCompression) throws {
        let bytes = try archive(goodEntries, compression, content: { $0 == "logs/empty.log" ? [] : Self.content })
        for cut in [4, 12] {
            let message = #expect(throws: ArchiveVerifier.Mismatch.self) {
                try verify(Array(bytes.dropLast(cut)), compression)
            }?.description ?? ""
            #expect(message.contains("damaged") && message.contains("cut short"), "\(message)")
        }
        // The last bytes are the stream's own check (zstd's checksum, gzip's length): content and tar intact.
        var checksum = bytes
        checksum[bytes.count - 1] ^= 0x01
        let message = #expect(throws: ArchiveVerifier.Mismatch.self) { try verify(checksum, compression) }?
            .description ?? ""
        #expect(message.contains("damaged"), "\(message)")
        let other: ArchiveCompression = compression == .gzip ? .zstd : .gzip
        #expect(throws: ArchiveVerifier.Mismatch.self, "the other format") { try verify(bytes, other) }
    }
}
