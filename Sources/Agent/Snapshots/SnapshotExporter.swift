import Shared
import SnapshotArchive
import Platform

/// Streams one complete snapshot as a zstd- or gzip-compressed POSIX tar, with paths relative to the work tree
/// (`logs/bot.log`), checking every file against the manifest on the way.
///
/// Memory stays flat whatever the snapshot's size: one read buffer, the codec's window and tables, and at most a
/// chunk and one read's worth of compressed output waiting to be sent. A file that no longer has the size or content
/// hash its manifest records stops the export with ``Damaged``: a damaged snapshot is never shipped as good.
struct SnapshotExporter {
    /// A snapshot file that does not match the manifest (or is gone).
    struct Damaged: Error, CustomStringConvertible {
        /// `snapshot_damaged`, or `snapshot_removed` when retention removed it mid-download.
        var code = ErrorCode.snapshotDamaged
        var description: String
    }

    /// What was sent.
    struct Totals {
        var files = 0
        var bytes: Int64 = 0
        var compressedBytes: Int64 = 0
    }

    /// zlib level: on JSON lines 1 deflates at ~160 MB/s to 21%, 6 at ~48 MB/s to 17%; a download is bound by
    /// compression far more than by the link, so 1.
    static let compressionLevel: Int32 = 1
    /// zstd level: see docs/BENCHMARKS.md (the download row) for what the levels cost here.
    static let zstdLevel: Int32 = 1
    /// A file whose first 256 KiB do not shrink below 90% (already compressed, random) is stored for the
    /// rest: deflate crawls (~30 MB/s) over data it cannot shrink, storing runs at memory speed.
    private static let probeBytes: Int64 = 1 << 18
    private static let incompressible = 0.9
    private static let readSize = 1 << 18

    let store: SnapshotStore
    let manifest: Manifest
    /// How the tar stream is compressed.
    let format: ArchiveFormat

    /// The manifest's entries as the protocol carries them, in archive order.
    var archiveEntries: [ArchiveEntry] {
        manifest.entries.map { entry in
            switch entry.kind {
            case .file: ArchiveEntry(path: entry.path, kind: .file, size: entry.size ?? 0, hash: entry.hash)
            case .directory: ArchiveEntry(path: entry.path, kind: .directory)
            case .symlink: ArchiveEntry(path: entry.path, kind: .symlink, target: entry.target ?? "")
            }
        }
    }

    /// Writes the archive, handing it on in chunks of at most `chunkBytes` (``Event/Chunk/maxBytes`` for `chunk`
    /// events, ``Event/Frame/maxBytes`` for frames).
    ///
    /// - Parameters:
    ///   - chunkBytes: The most bytes one call of `chunk` gets; every call but the last gets that many.
    ///   - chunk: Receives the compressed bytes in order.
    ///   - progress: Receives the content bytes archived so far, about once a second.
    /// - Throws: ``Damaged`` for a file that does not match the manifest; ``FileSystemError`` when reading
    ///   fails; ``ArchiveError`` when compressing fails.
    func run(chunkBytes: Int = Event.Chunk.maxBytes, chunk: ([UInt8]) -> Void,
             progress: (Int64) -> Void) throws -> Totals {
        let outbox = Outbox()
        let collect: (UnsafeRawBufferPointer) -> Void = { outbox.bytes.append(contentsOf: $0) }
        // Only gzip needs the exporter's help with data that does not compress (see copyFile).
        let gzip = format == .tarGzip ? try GzipCompressor(level: Self.compressionLevel, sink: collect) : nil
        let compressor: any StreamCompressor = try gzip ?? ZstdCompressor(level: Self.zstdLevel, sink: collect)
        var tar = TarWriter { try compressor.compress($0) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readSize,
                                                            alignment: ContentHash.bufferAlignment)
        defer { buffer.deallocate() }
        var totals = Totals()
        var lastProgress = ContinuousClock.now

        func send(all: Bool) {
            while outbox.bytes.count >= chunkBytes || (all && !outbox.bytes.isEmpty) {
                let count = min(outbox.bytes.count, chunkBytes)
                if count == outbox.bytes.count {
                    // All of it: handed on as it is, no copy.
                    chunk(outbox.bytes)
                    outbox.bytes = []
                    outbox.bytes.reserveCapacity(chunkBytes + Self.readSize)
                } else {
                    chunk(Array(outbox.bytes[0..<count]))
                    outbox.bytes.removeFirst(count)
                }
                totals.compressedBytes += Int64(count)
            }
            if lastProgress.secondsElapsed >= 1 {
                progress(totals.bytes)
                lastProgress = .now
            }
        }

        for entry in manifest.entries {
            try checkPath(entry.path)
            let mode = entry.mode ?? (entry.kind == .directory ? 0o755 : 0o644)
            // Directories and links carry no mtime in the manifest; the snapshot's time beats 1970.
            let mtime = entry.mtime.map { $0 / 1_000_000_000 } ?? Int64(manifest.info.createdAt.timeIntervalSince1970)
            switch entry.kind {
            case .directory:
                try tar.begin(TarEntry(path: entry.path, kind: .directory, mode: mode, mtime: mtime))
            case .symlink:
                try tar.begin(TarEntry(path: entry.path, kind: .symlink, mode: 0o777, mtime: mtime,
                                       linkTarget: entry.target ?? ""))
            case .file:
                try tar.begin(TarEntry(path: entry.path, kind: .file, size: entry.size ?? 0, mode: mode, mtime: mtime))
                try copyFile(entry, into: &tar, gzip: gzip, buffer: buffer) { count in
                    totals.bytes += Int64(count)
                    send(all: false)
                }
                totals.files += 1
            }
            try tar.end()
            send(all: false)
        }
        try tar.finish()
        try compressor.finish()
        send(all: true)
        progress(totals.bytes)
        return totals
    }

    /// Streams one snapshot file into the open tar entry and checks its size and hash.
    private func copyFile(_ entry: Manifest.Entry, into tar: inout TarWriter, gzip: GzipCompressor?,
                          buffer: UnsafeMutableRawBufferPointer, onBytes: (Int) -> Void) throws {
        // Either layout; every chunk is checked against its hash before any of its bytes are archived.
        var reader: SnapshotFileReader
        do {
            reader = try SnapshotFileReader(store: store, id: manifest.info.id, entry: entry)
        } catch let error as FileSystemError where error.code == ENOENT {
            throw gone(entry.path)
        } catch let error as SnapshotFileReader.Damaged {
            throw unreadable(error)
        }
        let size = entry.size ?? 0
        var hash = ContentHash()
        var remaining = size
        let start = (in: gzip?.bytesIn ?? 0, out: gzip?.bytesOut ?? 0)
        var probing = gzip != nil && size > Self.probeBytes
        while remaining > 0 {
            let count: Int
            do {
                count = try reader.read(into: UnsafeMutableRawBufferPointer(
                    rebasing: buffer[0..<Int(min(Int64(buffer.count), remaining))]))
            } catch let error as SnapshotFileReader.Damaged {
                throw unreadable(error)
            }
            guard count > 0 else { throw damaged(entry.path, "it ends \(remaining) bytes early") }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            hash.update(bytes)
            try tar.write(bytes)
            remaining -= Int64(count)
            onBytes(count)
            if probing, let gzip, gzip.bytesIn - start.in >= Self.probeBytes {
                probing = false
                let ratio = Double(gzip.bytesOut - start.out) / Double(gzip.bytesIn - start.in)
                if ratio > Self.incompressible { try gzip.setLevel(0) }
            }
        }
        try gzip?.setLevel(Self.compressionLevel)
        guard hash.value == entry.hash else {
            throw damaged(entry.path, "its content hash is \(hash.value), the manifest records \(entry.hash ?? "none")")
        }
    }

    /// The manifest is the agent's own, but a path that could escape the archive's root is refused anyway.
    private func checkPath(_ path: String) throws {
        if let problem = RelativePath.problem(path) {
            throw Damaged(description: "snapshot \(manifest.info.id) has an unsafe path in its manifest, "
                + "\(InvalidInput.quoted(path)): \(problem)")
        }
    }

    private func damaged(_ path: String, _ why: String) -> Damaged {
        Damaged(description: "snapshot \(manifest.info.id) is damaged: \(path) no longer matches its manifest "
            + "(\(why)); it was not downloaded — choose another snapshot (shipkeep snapshots)")
    }

    /// A stored copy that does not match: damaged, or gone with its snapshot (retention pruned it meanwhile).
    private func unreadable(_ error: SnapshotFileReader.Damaged) -> Damaged {
        store.manifest(manifest.info.id) == nil ? gone(error.path) : damaged(error.path, error.why)
    }

    private func gone(_ path: String) -> Damaged {
        if store.manifest(manifest.info.id) == nil {
            return Damaged(code: .snapshotRemoved, description: "snapshot \(manifest.info.id) was removed while it "
                + "was being downloaded (a deploy's retention pruned it); download a newer one")
        }
        return damaged(path, "the file is missing")
    }
}

/// Compressed bytes waiting to be sent; a class because the codec's output callback appends to it.
private final class Outbox {
    var bytes: [UInt8] = []
}
