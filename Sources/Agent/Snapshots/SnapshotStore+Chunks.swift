import SnapshotArchive
import Platform

/// Writing large files into a snapshot as chunks (``SnapshotChunks``).
extension SnapshotStore {
    /// Whether a file of `size` bytes is stored as chunks in a snapshot of `dataDirs` (not when a data dir would
    /// sit where the chunk dir does).
    static func chunks(_ size: Int64, dataDirs: [String]) -> Bool {
        size > SnapshotChunks.size && !dataDirs.contains {
            $0.split(separator: "/").first.map(String.init) == SnapshotChunks.directoryName
        }
    }

    /// Puts the stored copy of a file unchanged since snapshot `previous` (same size and mtime) into the new
    /// snapshot by hard links alone: its whole file to `destination`, or each of its chunks into `pool`. Fills in
    /// `entry`'s chunk list. Returns false when something could not be linked (the file is then copied).
    ///
    /// - Throws: ``FileSystemError``.
    func linkUnchanged(_ old: Manifest.Entry, of previous: String, to destination: String, pool: inout ChunkPool,
                       entry: inout Manifest.Entry) throws -> Bool {
        guard let names = old.chunks, let chunkSize = old.chunkSize, let size = old.size else {
            return link(filePath(previous, old.path), destination) == 0
        }
        let from = SnapshotChunks.directory(of: dir + "/" + previous)
        var linked: [String] = []
        for (index, name) in names.enumerated() {
            let length = SnapshotChunks.length(of: index, size: size, chunkSize: chunkSize)
            guard let placed = try pool.link(from + "/" + name, hash: SnapshotChunks.hash(ofName: name), length: length)
            else { return false }
            linked.append(placed)
        }
        entry.chunks = linked
        entry.chunkSize = chunkSize
        entry.hashState = old.hashState
        return true
    }

    /// Copies the data file `path` (opened by descriptor from the work tree down, as ``copyFile``) into `pool` as
    /// chunks of at most `size` bytes (fewer if it shrank), reading it once, and sets `entry`'s size, hash (of the
    /// whole file), hash state, chunk size and chunk list.
    ///
    /// A chunk that snapshot `previous` holds at the same index (`old`, that snapshot's entry for the path, the
    /// same inode, with a chunk of the same length there) is read through a small buffer that stays in the CPU's
    /// cache, hashed, and linked when its hash is the one recorded for that chunk; only when it is not (or the
    /// link fails) is it read again whole and written. Any other chunk is read whole, hashed a slice at a time
    /// while the slice is in the cache, and written. The whole file's hash is carried on from `old`'s hash state
    /// (``Manifest/Entry/hashState``) past the chunks proven and linked from it, so those bytes are hashed once,
    /// not twice; whenever that cannot be done, it is taken over the bytes this snapshot stores. The chunks that
    /// state covers are hashed ahead, on two threads (``ChunkHashes``): their proof needs no whole hash.
    ///
    /// - Parameters:
    ///   - buffer: at least ``SnapshotChunks/size`` bytes.
    ///   - afterWrite: called after each chunk written (not linked).
    /// - Throws: ``FileSystemError`` (`ENOENT` from `open` when the file is gone since the scan).
    func copyChunked(_ path: String, in parents: inout DirectoryHandle.Parents, entry: inout Manifest.Entry,
                     size: Int64, old: Manifest.Entry?, previous: String?, pool: inout ChunkPool,
                     buffer: UnsafeMutableRawBufferPointer, afterWrite: () -> Void) throws {
        let (directory, name) = try parents.parent(of: path)
        let input = try directory.openFile(name, O_RDONLY)
        defer { close(input) }
        let chunkSize = SnapshotChunks.size
        // The previous chunks to prove against: the same file (inode) stored with the same chunk size.
        var reusable: (names: [String], size: Int64, dir: String)?
        // The previous whole-file hash's state after its first `resumable` chunks.
        var resume: ContentHash?
        var resumable = 0
        if let old, let previous, let inode = entry.inode, old.inode == inode,
           let provable = SnapshotChunks.provable(old) {
            reusable = (provable.names, provable.size, SnapshotChunks.directory(of: dir + "/" + previous))
            if let state = provable.resume {
                resume = state
                resumable = Int(state.length / chunkSize)
            }
        }
        // The whole file's hash; nil while it is deferred over chunks proven and linked from `previous`.
        var whole: ContentHash? = resume == nil ? ContentHash() : nil
        // Whether every chunk so far was linked from the previous snapshot's chunk at its index.
        var allLinked = true
        var names: [String] = []
        var state: String?
        var offset: Int64 = 0
        // The whole hash at the start of chunk `index`: carried on from the previous state, or taken over the
        // chunks this snapshot holds.
        func wholeHash(at index: Int) throws -> ContentHash {
            if let whole { return whole }
            if allLinked && index == resumable, let resume { return resume }
            return try pool.hash(names[0..<index])
        }
        // The chunks that can be proven before the whole hash is needed, hashed ahead on two threads (or since
        // preflight: see ChunkProofsAhead).
        let proven = Int64(min(resumable, Int(size / chunkSize))) * chunkSize
        let ahead = (ChunkProofsAhead.take(path: path, fd: input, chunkSize: chunkSize, length: proven)
            ?? ChunkHashes.start(fd: input, chunkSize: chunkSize, length: proven, path: path, threads: 1)).finish()
        while offset < size {
            let index = names.count
            let want = Int(min(chunkSize, size - offset))
            var candidate: String?
            if let reusable, index < reusable.names.count,
               SnapshotChunks.length(of: index, size: reusable.size, chunkSize: chunkSize) == Int64(want) {
                candidate = reusable.names[index]
            }
            if whole == nil && !(allLinked && index < resumable && candidate != nil) {
                whole = try wholeHash(at: index)
            }
            var placed: String?
            var count = 0
            if let candidate {
                let start = whole
                let (read, hash): (Int, String?)
                if whole == nil && index < ahead.count {
                    (read, hash) = (want, ahead[index])
                } else {
                    let small = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Self.proofSlice])
                    let proof = try Self.readHashing(input, at: offset, count: want, slice: small, reuse: true,
                                                     whole: &whole, path: path)
                    (read, hash) = (proof.0, proof.1)
                }
                if read == want, let hash, hash == SnapshotChunks.hash(ofName: candidate) {
                    placed = try pool.link(reusable!.dir + "/" + candidate, hash: hash, length: Int64(read))
                }
                if placed == nil {
                    // Changed (or not linkable): read again, whole, and write what is read now.
                    allLinked = false
                    whole = try start ?? wholeHash(at: index)
                } else {
                    count = read
                }
            } else {
                allLinked = false
            }
            if placed == nil {
                let (read, hash) = try Self.readHashing(input, at: offset, count: want, slice: buffer, reuse: false,
                                                        whole: &whole, path: path)
                if read == 0 { break }
                count = read
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<read])
                let written = pool.writtenBytes
                placed = try pool.place(bytes, hash: hash, previous: nil)
                if pool.writtenBytes > written { afterWrite() }
            }
            names.append(placed!)
            offset += Int64(count)
            if Int64(count) == chunkSize {
                if let whole {
                    state = whole.checkpoint
                } else if index + 1 == resumable {
                    state = resume?.checkpoint
                }
            }
            if count < want { break }  // it shrank since the scan: the snapshot holds what there is
        }
        let final = try wholeHash(at: names.count)
        if offset % chunkSize == 0 { state = final.checkpoint }
        if let known = state, ContentHash(checkpoint: known)?.length != offset / chunkSize * chunkSize { state = nil }
        entry.size = offset
        entry.hash = final.value
        entry.hashState = state
        entry.chunkSize = chunkSize
        entry.chunks = names
    }

    /// Bytes read at a time to prove a chunk unchanged: a slice the CPU's cache holds while both hashes read it.
    static let proofSlice = 128 << 10

    /// Reads up to `count` bytes of `input` from `offset`, a slice at a time, feeding each slice to a new chunk
    /// hash and to `whole` (when not nil) while it is in the cache. With `reuse`, every slice is read into the
    /// start of `slice` (the bytes are not kept); without, one after the other into it (which must hold `count`).
    /// Returns the bytes read (fewer at the end of the file) and the chunk's `xxh64:…`.
    ///
    /// - Throws: ``FileSystemError``.
    private static func readHashing(_ input: Int32, at offset: Int64, count: Int,
                                    slice: UnsafeMutableRawBufferPointer, reuse: Bool, whole: inout ContentHash?,
                                    path: String) throws -> (Int, String) {
        var chunk = ContentHash()
        var done = 0
        let step = reuse ? slice.count : proofSlice
        while done < count {
            let want = min(step, count - done)
            let start = reuse ? 0 : done
            let target = UnsafeMutableRawBufferPointer(rebasing: slice[start..<(start + want)])
            let read = try SnapshotFileReader.fill(target, from: input, at: offset + Int64(done), path: path)
            let bytes = UnsafeRawBufferPointer(rebasing: slice[start..<(start + read)])
            chunk.update(bytes)
            whole?.update(bytes)
            done += read
            if read < want { break }  // the end of the file
        }
        return (done, chunk.value)
    }
}
