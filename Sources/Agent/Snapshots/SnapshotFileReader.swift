import SnapshotArchive
import Platform

/// Reads the stored bytes of one file of a complete snapshot, in either layout: a whole file at its path in the
/// snapshot (the layout of every snapshot taken before chunks, and of small files), or chunks
/// (``SnapshotChunks``). Every chunk is checked — its size and its XXH64 against its name — before any of its
/// bytes are handed on: a damaged chunk fails the read with ``Damaged``, and is never restored or sent.
///
/// Memory: one chunk (4 MiB) for a chunked file, nothing for a whole one.
struct SnapshotFileReader: ~Copyable {
    /// The stored copy does not match the manifest (a chunk damaged or missing, a whole file of another size).
    struct Damaged: Error, CustomStringConvertible {
        /// The snapshot's id.
        var snapshot: String
        /// The entry's path.
        var path: String
        /// What is wrong, as a phrase (`its chunk 3 of 512 (…) has the content hash …`).
        var why: String
        var description: String {
            "snapshot \(snapshot) is damaged: \(path) no longer matches its manifest (\(why)); it was not restored "
                + "from it — restore it from another snapshot (shipkeep snapshots)"
        }
    }

    let entry: Manifest.Entry
    private let snapshot: String
    private let id: String
    private let size: Int64
    /// The whole file's descriptor (whole layout).
    private var fd: Int32 = -1
    /// The current chunk's bytes (chunked layout), `loaded` of them valid, `position` of those handed on.
    private var chunk: UnsafeMutableRawBufferPointer?
    private var loaded = 0
    private var position = 0
    private var next = 0
    /// Bytes handed on so far.
    private(set) var offset: Int64 = 0

    /// Opens `entry`'s stored copy in snapshot `id` of `store`.
    ///
    /// - Throws: ``Damaged`` when a whole file is not a regular file of the recorded size;
    ///   ``FileSystemError`` when it cannot be opened (`ENOENT` when it is gone).
    init(store: SnapshotStore, id: String, entry: Manifest.Entry) throws {
        self.entry = entry
        snapshot = store.dir + "/" + id
        self.id = id
        size = entry.size ?? 0
        guard entry.chunks == nil else { return }
        let path = store.filePath(id, entry.path)
        let file = try FileSystem.open(path, O_RDONLY | O_NOFOLLOW)
        var info = stat()
        guard fstat(file, &info) == 0 else {
            let failure = FileSystemError("fstat", path)
            close(file)
            throw failure
        }
        guard (info.st_mode & S_IFMT) == S_IFREG, Int64(info.st_size) == size else {
            close(file)
            throw Damaged(snapshot: id, path: entry.path, why: "it is \(info.st_size) bytes, the manifest records \(size)")
        }
        fd = file
    }

    deinit {
        if fd >= 0 { close(fd) }
        chunk?.deallocate()
    }

    /// Whether the file is stored as chunks.
    var isChunked: Bool { entry.chunks != nil }

    /// Reads the next bytes into `buffer`; 0 at the end.
    ///
    /// - Throws: ``Damaged``; ``FileSystemError`` when reading fails.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offset < size, buffer.count > 0 else { return 0 }
        let count: Int
        if fd >= 0 {
            let want = Int(min(Int64(buffer.count), size - offset))
            count = try Self.fill(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), from: fd, at: offset,
                                  path: snapshot + "/" + entry.path)
            guard count > 0 else { throw Damaged(snapshot: id, path: entry.path, why: "it ends \(size - offset) bytes early") }
        } else {
            if position == loaded { try loadNextChunk() }
            count = min(buffer.count, loaded - position)
            buffer.baseAddress!.copyMemory(from: chunk!.baseAddress! + position, byteCount: count)
            position += count
        }
        offset += Int64(count)
        return count
    }

    /// Writes the whole stored content to the start of `output` (a new file). Returns the bytes written.
    ///
    /// - Throws: ``Damaged``; ``FileSystemError`` (check ``FileSystemError/isNoSpace``).
    mutating func copy(to output: Int32, path: String) throws -> Int64 {
        if fd >= 0 { return try FileSystem.copy(from: fd, to: output, length: size, path: path) }
        while offset < size {
            try loadNextChunk()
            var written = 0
            while written < loaded {
                let count = pwrite(output, chunk!.baseAddress! + written, loaded - written, off_t(offset) + off_t(written))
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { throw FileSystemError("write", path) }
                written += count
            }
            offset += Int64(loaded)
            position = loaded
        }
        return offset
    }

    /// Reads the whole stored copy and checks it — every chunk against its name, and the whole against the
    /// manifest's hash — without handing anything on: before a repair that writes in place, so that a damaged
    /// copy is found before the live file is touched.
    ///
    /// - Throws: ``Damaged``; ``FileSystemError`` when reading fails.
    consuming func check() throws {
        var whole = ContentHash()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18,
                                                            alignment: ContentHash.bufferAlignment)
        defer { buffer.deallocate() }
        while true {
            let count = try read(into: buffer)
            if count == 0 { break }
            whole.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        guard whole.value == entry.hash else {
            throw Damaged(snapshot: id, path: entry.path, why: "its content hash is \(whole.value), the manifest "
                + "records \(entry.hash ?? "none")")
        }
    }

    /// Reads chunk `next` whole and checks it before any of it is used.
    private mutating func loadNextChunk() throws {
        guard let names = entry.chunks, let chunkSize = entry.chunkSize, next < names.count else {
            throw Damaged(snapshot: id, path: entry.path, why: "its chunk list ends before its \(size) bytes")
        }
        let name = names[next]
        let what = "chunk \(next + 1) of \(names.count) (\(SnapshotChunks.directoryName)/\(name))"
        let length = SnapshotChunks.length(of: next, size: size, chunkSize: chunkSize)
        if chunk == nil || chunk!.count < Int(length) {
            chunk?.deallocate()
            chunk = .allocate(byteCount: Int(chunkSize), alignment: ContentHash.bufferAlignment)
        }
        let path = SnapshotChunks.directory(of: snapshot) + "/" + name
        let input: Int32
        do {
            input = try FileSystem.open(path, O_RDONLY | O_NOFOLLOW)
        } catch let error as FileSystemError where error.code == ENOENT {
            throw Damaged(snapshot: id, path: entry.path, why: "its \(what) is missing")
        }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0 else { throw FileSystemError("fstat", path) }
        guard (info.st_mode & S_IFMT) == S_IFREG, Int64(info.st_size) == length else {
            throw Damaged(snapshot: id, path: entry.path, why: "its \(what) is \(info.st_size) bytes, the manifest records \(length)")
        }
        let target = UnsafeMutableRawBufferPointer(rebasing: chunk![0..<Int(length)])
        let count = try Self.fill(target, from: input, at: 0, path: path)
        guard count == Int(length) else {
            throw Damaged(snapshot: id, path: entry.path, why: "its \(what) ends \(Int(length) - count) bytes early")
        }
        var hash = ContentHash()
        hash.update(UnsafeRawBufferPointer(target))
        guard hash.value == SnapshotChunks.hash(ofName: name) else {
            throw Damaged(snapshot: id, path: entry.path, why: "its \(what) has the content hash \(hash.value), its name records "
                + SnapshotChunks.hash(ofName: name))
        }
        loaded = Int(length)
        position = 0
        next += 1
    }

    /// Reads into all of `buffer` from `fd` at `offset`, stopping early only at the end of the file. Returns the
    /// bytes read.
    ///
    /// - Throws: ``FileSystemError``.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, from fd: Int32, at offset: Int64,
                     path: String) throws -> Int {
        var done = 0
        while done < buffer.count {
            let count = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw FileSystemError("read", path) }
            if count == 0 { break }
            done += count
        }
        return done
    }
}
