import SnapshotArchive
import Platform

/// The chunked layout of large snapshot files: what makes a snapshot of a file that only grew cost its new bytes.
///
/// A regular file larger than one chunk is stored as fixed-size chunks of ``size`` bytes (the last one shorter)
/// in the snapshot's chunk dir, `<snapshot>/.shipkeep-chunks/`, each named by the XXH64 of its bytes
/// (`3f2c1e0b9a8d7c6e`; `…-2`, `…-3` for different bytes that happen to share a hash). The manifest entry lists
/// the names in order and keeps the whole file's hash. Fixed-size chunks suit append-only growth: every chunk
/// but the last of a file that grew holds the same bytes as before, so the next snapshot hard-links it from the
/// previous snapshot and writes only the last chunk and the new ones. A snapshot dir stays self-contained (a
/// copy of it, or a restic restore of it, is a whole snapshot), and pruning one is still removing its
/// directory: the hard links keep every chunk a kept snapshot shares alive.
///
/// **Chunk size, 4 MiB.** A file that grew costs at most one chunk more than its new bytes, in bytes written
/// and in disk (the partly filled last chunk is written again), well inside the 16 MiB a snapshot may spend
/// beyond what changed even when a few files grow at once; a 2 GB file is 512 chunks, hard-linked in a few
/// milliseconds and listed in ~13 KB of manifest, and 100 GB is still only 25,600. Smaller chunks would multiply
/// the links and the manifest for little; larger ones would rewrite more of every grown file. Files of one
/// chunk or less are stored whole: rewriting one costs the same as rewriting its only chunk.
///
/// **Proof that a chunk is unchanged.** A chunk is linked only from the previous snapshot's chunk at the same
/// index of the same path, when the file there is the same inode, and only when the XXH64 of the bytes read now
/// equals the hash recorded for that chunk (and its length matches). XXH64 is not collision-resistant, so the
/// bot user (hostile) could craft bytes that hash like the old chunk; what that gains it is a snapshot holding
/// that same file's own earlier bytes at that place — bytes it wrote, and could as well have written again —
/// never another file's: chunks are never shared across paths by hash alone. Within one snapshot, two chunks
/// with the same hash share a file only when their bytes are compared equal. Comparing every chunk byte for
/// byte would double the reading (the old chunks too) for no protection that matters here; the XXH64 check runs
/// at memory speed alongside the one read.
///
/// **The whole file's hash, once.** The manifest keeps, beside the whole file's hash, the hash's state after
/// the file's last full chunk (``Manifest/Entry/hashState``). The next snapshot of the file, once it has proven
/// and linked those chunks from this one, carries the whole hash on from that state over the rest, instead of
/// hashing every byte a second time; the hash is the same (XXH64 of the whole file, as every reader checks it),
/// and it is always of the bytes the snapshot stores: when a chunk cannot be linked, the hash is taken again over
/// the chunks before it as stored, then over the bytes written.
enum SnapshotChunks {
    /// Bytes per chunk, and the size above which a file is chunked.
    static let size: Int64 = 4 << 20
    /// The chunk dir's name inside a snapshot.
    static let directoryName = ".shipkeep-chunks"

    /// The chunk dir of snapshot dir `snapshot`.
    static func directory(of snapshot: String) -> String { snapshot + "/" + directoryName }

    /// Whether `name` is a chunk's name: 16 lowercase hex digits, optionally `-N`.
    static func isName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count >= 16, bytes[0..<16].allSatisfy(isHex) else { return false }
        if bytes.count == 16 { return true }
        return bytes.count > 17 && bytes.count <= 24 && bytes[16] == UInt8(ascii: "-")
            && bytes[17...].allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }

    /// The `xxh64:…` hash a chunk's name records.
    static func hash(ofName name: String) -> String { "xxh64:" + name.prefix(16) }

    /// How many bytes chunk `index` of a file of `size` bytes holds.
    static func length(of index: Int, size: Int64, chunkSize: Int64) -> Int64 {
        min(chunkSize, size - Int64(index) * chunkSize)
    }

    /// What a snapshot of the same file (same inode) can prove against `old`, a previous snapshot's entry for
    /// it: its chunks, when it is stored in chunks of today's size and is not a database; and the whole file's
    /// hash state after its first `resumable` whole chunks (nil when it recorded none that can be carried on).
    static func provable(_ old: Manifest.Entry) -> (names: [String], size: Int64, resume: ContentHash?)? {
        guard let names = old.chunks, old.chunkSize == size, old.data != .sqlite, let oldSize = old.size else {
            return nil
        }
        let state = old.hashState.flatMap(ContentHash.init(checkpoint:))
        return (names, oldSize, state.flatMap { $0.length % size == 0 && $0.length <= oldSize ? $0 : nil })
    }

    /// Whether `entry`'s chunk list (if any) is usable: valid names, a positive chunk size, and exactly as many
    /// chunks as its size needs.
    static func isWellFormed(_ entry: Manifest.Entry) -> Bool {
        guard let chunks = entry.chunks else { return entry.chunkSize == nil }
        guard entry.kind == .file, let chunkSize = entry.chunkSize, chunkSize > 0, let size = entry.size, size >= 0
        else { return false }
        return Int64(chunks.count) == (size + chunkSize - 1) / chunkSize && chunks.allSatisfy(isName)
    }
}

/// The chunk dir of a snapshot being written: places chunks in it by hash, linked from the previous snapshot or
/// written from bytes just read, and shares one file between chunks of this snapshot only when their bytes are
/// equal.
struct ChunkPool {
    /// Where a placed chunk's file came from.
    private enum Source: Equatable {
        case linked(String)
        case written
    }

    let dir: String
    private var placed: [String: Source] = [:]
    private var created = false
    /// Bytes written into new chunk files so far (linked ones cost none).
    private(set) var writtenBytes: Int64 = 0

    init(snapshot: String) {
        dir = SnapshotChunks.directory(of: snapshot)
    }

    /// Places the chunk `bytes`, whose hash is `hash` (`xxh64:…`): a link to `previous` (the previous snapshot's
    /// chunk, proven to hold these bytes) when given and it can be linked, else a new file. Returns its name.
    ///
    /// - Throws: ``FileSystemError``.
    mutating func place(_ bytes: UnsafeRawBufferPointer, hash: String, previous: String?) throws -> String {
        // With the bytes at hand a chunk is always placed: written when it cannot be linked.
        try place(hash: hash, length: Int64(bytes.count), previous: previous, bytes: bytes)!
    }

    /// Links the previous snapshot's chunk `previous` (of `length` bytes, hash `hash`) of a file unchanged since;
    /// nil when it cannot be linked (the caller then reads the file again).
    ///
    /// - Throws: ``FileSystemError``.
    mutating func link(_ previous: String, hash: String, length: Int64) throws -> String? {
        try place(hash: hash, length: length, previous: previous, bytes: nil)
    }

    private mutating func place(hash: String, length: Int64, previous: String?,
                                bytes: UnsafeRawBufferPointer?) throws -> String? {
        if !created {
            if mkdir(dir, 0o700) != 0 && errno != EEXIST { throw FileSystemError("mkdir", dir) }
            created = true
        }
        let hex = String(hash.dropFirst("xxh64:".count))
        var suffix = 1
        while true {
            let name = suffix == 1 ? hex : hex + "-\(suffix)"
            suffix += 1
            let path = dir + "/" + name
            guard let existing = placed[name] else {
                if let previous, Platform.link(previous, path) == 0 {
                    placed[name] = .linked(previous)
                    return name
                }
                guard let bytes else { return nil }
                try write(bytes, to: path)
                placed[name] = .written
                return name
            }
            if let previous, existing == .linked(previous) { return name }
            if try sameContent(path, length: length, as: bytes, or: previous) { return name }
        }
    }

    private mutating func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        let fd = try FileSystem.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o400)
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let count = Platform.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw FileSystemError("write", path) }
            offset += count
        }
        writtenBytes += Int64(bytes.count)
    }

    /// Whether the chunk file at `path` holds exactly `bytes` (or, without them, the bytes of the file `other`).
    private func sameContent(_ path: String, length: Int64, as bytes: UnsafeRawBufferPointer?,
                             or other: String?) throws -> Bool {
        let fd = try FileSystem.open(path, O_RDONLY | O_NOFOLLOW)
        defer { close(fd) }
        let mine = try Self.readAll(fd, length: length, path: path)
        if let bytes { return mine.withUnsafeBytes { $0.elementsEqual(bytes) } }
        guard let other, let theirs = try? FileSystem.open(other, O_RDONLY | O_NOFOLLOW) else { return false }
        defer { close(theirs) }
        return try mine == Self.readAll(theirs, length: length, path: other)
    }

    /// The hash of the chunks `names` of this snapshot, in order: of the bytes it stores for them.
    ///
    /// - Throws: ``FileSystemError``.
    func hash(_ names: ArraySlice<String>) throws -> ContentHash {
        var hash = ContentHash()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SnapshotStore.proofSlice,
                                                            alignment: ContentHash.bufferAlignment)
        defer { buffer.deallocate() }
        for name in names {
            let path = dir + "/" + name
            let fd = try FileSystem.open(path, O_RDONLY | O_NOFOLLOW)
            defer { close(fd) }
            var offset: Int64 = 0
            while true {
                let count = try SnapshotFileReader.fill(buffer, from: fd, at: offset, path: path)
                hash.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                offset += Int64(count)
                if count < buffer.count { break }
            }
        }
        return hash
    }

    /// Up to `length` bytes from the start of `fd` (fewer if it is shorter).
    static func readAll(_ fd: Int32, length: Int64, path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let count = try bytes.withUnsafeMutableBytes { try SnapshotFileReader.fill($0, from: fd, at: 0, path: path) }
        return Array(bytes[0..<count])
    }
}
