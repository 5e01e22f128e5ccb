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

    /// A `.tar.gz` of `entries` (file content from `content(path)`) in a temporary file.
    private func archive(_ entries: [TarEntry], content: (String) -> [UInt8] = { _ in Self.content }) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("verify-\(UUID().uuidString).tgz").path
        var bytes: [UInt8] = []
        let gzip = try GzipCompressor(level: 1) { bytes.append(contentsOf: $0) }
        var tar = TarWriter { try gzip.compress($0) }
        for entry in entries {
            try tar.begin(entry)
            if entry.kind == .file { try content(entry.path).withUnsafeBytes { try tar.write($0) } }
            try tar.end()
        }
        try tar.finish()
        try gzip.finish()
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private var goodEntries: [TarEntry] {
        [TarEntry(path: "logs", kind: .directory),
         TarEntry(path: "logs/bot.log", kind: .file, size: Int64(Self.content.count)),
         TarEntry(path: "logs/empty.log", kind: .file, size: 0),
         TarEntry(path: "logs/latest", kind: .symlink, linkTarget: "bot.log")]
    }

    private func mismatch(_ entries: [TarEntry], manifest: [ArchiveEntry] = Self.manifest,
                          content: @escaping (String) -> [UInt8] = { _ in Self.content }) throws -> String {
        let path = try archive(entries, content: { $0 == "logs/empty.log" ? [] : content($0) })
        defer { unlink(path) }
        do {
            _ = try ArchiveVerifier(manifest: manifest).verify(path: path)
            return "passed"
        } catch {
            return error.description
        }
    }

    @Test func anArchiveThatIsExactlyTheManifestPasses() throws {
        let path = try archive(goodEntries, content: { $0 == "logs/empty.log" ? [] : Self.content })
        defer { unlink(path) }
        let summary = try ArchiveVerifier(manifest: Self.manifest).verify(path: path)
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

    @Test func aTruncatedArchiveIsCaught() throws {
        let path = try archive(goodEntries, content: { $0 == "logs/empty.log" ? [] : Self.content })
        defer { unlink(path) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 12).write(to: URL(fileURLWithPath: path))
        #expect(throws: ArchiveVerifier.Mismatch.self) {
            try ArchiveVerifier(manifest: Self.manifest).verify(path: path)
        }
    }
}
