import Foundation
import Shared
import SnapshotArchive
#if canImport(Glibc)
import Glibc
#endif

/// Checks a downloaded `.tar.gz`, read back from disk, against the manifest the agent sent: every entry is
/// in the manifest, once, of the same kind, with the same size and XXH64 (files) or target (links); none is
/// missing; every path is a ``RelativePath`` (not absolute, no `..`, …) and passes through no symbolic link of
/// the archive. Also checks the gzip stream whole (zlib's CRC-32 and length) and the tar stream complete.
///
/// Reads through fixed buffers, so a file of any size is checked in flat memory.
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

    private let expected: [String: ArchiveEntry]
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

    /// Reads the archive at `path` and checks it.
    ///
    /// - Throws: ``Mismatch`` naming the first difference.
    func verify(path: String) throws(Mismatch) -> Summary {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Mismatch(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var state = State()
        var reader = TarReader()
        do {
            let gunzip = try GzipDecompressor(bufferSize: 1 << 18) { data in
                try reader.feed(data) { event throws(Mismatch) in try check(event, &state) }
            }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let count = read(fd, buffer.baseAddress, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count >= 0 else {
                    throw Mismatch(description: "cannot read \(path): \(String(cString: strerror(errno)))")
                }
                if count == 0 { break }
                try gunzip.decompress(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
            try gunzip.finish()
            try reader.finish()
        } catch let mismatch as Mismatch {
            throw mismatch
        } catch {
            throw Mismatch(description: "the archive is damaged: \(error)")
        }
        let missing = expected.keys.filter { !state.seen.contains($0) }.sorted()
        guard missing.isEmpty else {
            let examples = missing.prefix(3).joined(separator: ", ")
            throw Mismatch(description: "\(missing.count) entr\(missing.count == 1 ? "y" : "ies") of the manifest "
                + "\(missing.count == 1 ? "is" : "are") missing from the archive (\(examples))")
        }
        return state.summary
    }

    /// Where the check is inside the stream.
    private struct State {
        var seen: Set<String> = []
        var current: (entry: TarEntry, expected: ArchiveEntry)?
        var hash = ContentHash()
        var received: Int64 = 0
        var summary = Summary()
    }

    private func check(_ event: TarReader.Event, _ state: inout State) throws(Mismatch) {
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
