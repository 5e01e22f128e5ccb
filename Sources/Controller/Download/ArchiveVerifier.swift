import Shared
import SnapshotArchive

/// Checks a downloaded `.tar.zst` or `.tar.gz`, as it arrives, against the manifest the agent sent: every entry
/// is in the manifest, once, of the same kind, with the same size and XXH64 (files) or target (links); none is
/// missing; every path is a ``RelativePath`` (not absolute, no `..`, …) and
/// passes through no symbolic link of the archive. Also checks the
/// compressed stream whole (zstd's frame checksum, or zlib's CRC-32 and length) and the tar stream complete.
///
/// Works through fixed buffers, so an archive of any size is checked in flat memory.
struct ArchiveVerifier {
    /// Why the archive does not match, one line.
    struct Mismatch: Error, CustomStringConvertible {
        var description: String
    }

    /// What the archive holds.
    struct Summary: Equatable {
        var files = 0
        var bytes: Int64 = 0
    }

    fileprivate let expected: [String: ArchiveEntry]
    private let links: Set<String>

    /// Prepares to check against `manifest`.
    ///
    /// - Throws: ``Mismatch`` when the manifest itself names a path twice.
    init(manifest: [ArchiveEntry]) throws(Mismatch) {
        var expected: [String: ArchiveEntry] = [:]
        for entry in manifest {
            guard expected.updateValue(entry, forKey: entry.path) == nil else {
                throw Mismatch(description: "the snapshot's manifest names \(entry.path) twice")
            }
        }
        self.expected = expected
        links = Set(manifest.filter { $0.kind == .symlink }.map(\.path))
    }

    /// Starts checking an archive compressed with `compression`, fed to the result as it arrives.
    ///
    /// - Throws: ``Mismatch`` when the decompressor cannot start.
    func stream(_ compression: ArchiveCompression) throws(Mismatch) -> Verification {
        try Verification(self, compression)
    }

    /// An archive being checked as its bytes arrive: decompressed, split into tar entries and each entry held
    /// against the manifest on the way, so a mismatch stops the download at once and nothing needs reading back.
    /// Not `Sendable`.
    final class Verification {
        private let verifier: ArchiveVerifier
        private var state = State()
        private var reader = TarReader()
        private var decompressor: (any StreamDecompressor)?

        fileprivate init(_ verifier: ArchiveVerifier, _ compression: ArchiveCompression) throws(Mismatch) {
            self.verifier = verifier
            do {
                decompressor = try compression.decompressor { [unowned self] data in
                    try self.reader.feed(data) { event throws(Mismatch) in try self.verifier.check(event, &self.state) }
                }
            } catch {
                throw Mismatch(description: "cannot check the archive: \(error)")
            }
        }

        /// Checks the next bytes of the compressed archive.
        ///
        /// - Throws: ``Mismatch`` naming the first difference, or the damage (a bad checksum, data after the end).
        func feed(_ bytes: [UInt8]) throws(Mismatch) {
            do {
                try bytes.withUnsafeBytes { try decompressor?.decompress($0) }
            } catch let mismatch as Mismatch {
                throw mismatch
            } catch {
                throw Mismatch(description: "the archive is damaged: \(error)")
            }
        }

        /// Checks that the archive ended whole and held every entry of the manifest.
        ///
        /// - Throws: ``Mismatch`` for a stream cut short or entries missing.
        func finish() throws(Mismatch) -> Summary {
            do {
                try decompressor?.finish()
                try reader.finish()
            } catch {
                throw Mismatch(description: "the archive is damaged: \(error)")
            }
            let missing = verifier.expected.keys.filter { !state.seen.contains($0) }.sorted()
            guard missing.isEmpty else {
                let examples = missing.prefix(3).joined(separator: ", ")
                throw Mismatch(description: "\(missing.count) entr\(missing.count == 1 ? "y" : "ies") of the "
                    + "manifest \(missing.count == 1 ? "is" : "are") missing from the archive (\(examples))")
            }
            return state.summary
        }
    }

    /// Where the check is inside the stream.
    fileprivate struct State {
        var seen: Set<String> = []
        var current: (entry: TarEntry, expected: ArchiveEntry)?
        var hash = ContentHash()
        var received: Int64 = 0
        var summary = Summary()
    }

    fileprivate func check(_ event: TarReader.Event, _ state: inout State) throws(Mismatch) {
        switch event {
        case .begin(let entry):
            try checkSafe(entry.path)
            guard let wanted = expected[entry.path] else {
                throw Mismatch(description: "the archive holds \(entry.path), which the snapshot's manifest does not")
            }
            guard state.seen.insert(entry.path).inserted else {
                throw Mismatch(description: "the archive holds \(entry.path) twice")
            }
            guard entry.kind == wanted.kind.tarKind else {
                throw Mismatch(description: "\(entry.path) is a \(entry.kind) in the archive but a "
                    + "\(wanted.kind.rawValue) in the manifest")
            }
            if entry.kind == .symlink, entry.linkTarget != wanted.target {
                throw Mismatch(description: "the link \(entry.path) points elsewhere than the manifest records")
            }
            state.current = (entry, wanted)
            state.hash = ContentHash()
            state.received = 0
        case .content(let bytes):
            state.hash.update(bytes)
            state.received += Int64(bytes.count)
        case .end:
            guard let (entry, wanted) = state.current, entry.kind == .file else { return }
            guard state.received == wanted.size else {
                throw Mismatch(description: "\(entry.path) has \(state.received) bytes in the archive, the manifest "
                    + "records \(wanted.size ?? 0)")
            }
            guard state.hash.value == wanted.hash else {
                throw Mismatch(description: "\(entry.path) in the archive does not match the manifest (content hash "
                    + "\(state.hash.value), recorded \(wanted.hash ?? "none"))")
            }
            state.summary.files += 1
            state.summary.bytes += state.received
        }
    }

    /// A path that `tar -x` could write outside the directory it extracts into is refused outright.
    private func checkSafe(_ path: String) throws(Mismatch) {
        let relative: RelativePath
        do {
            relative = try RelativePath(validating: path, expected: "a plain relative path")
        } catch {
            throw Mismatch(description: "the archive holds an unsafe path: \(error)")
        }
        var parent = ""
        for part in relative.components.dropLast() {
            parent += parent.isEmpty ? String(part) : "/" + part
            if links.contains(parent) {
                throw Mismatch(description: "the archive holds \(path), which lies under the symbolic link \(parent)")
            }
        }
    }
}

extension ArchiveEntry.Kind {
    /// The tar member type of this kind.
    fileprivate var tarKind: TarEntry.Kind {
        switch self {
        case .file: .file
        case .directory: .directory
        case .symlink: .symlink
        }
    }
}

extension ArchiveFormat {
    /// The codec of this format's tar stream.
    var compression: ArchiveCompression {
        switch self {
        case .tarGzip: .gzip
        case .tarZstd: .zstd
        }
    }
}
