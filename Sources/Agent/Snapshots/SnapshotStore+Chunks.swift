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
        return true
    }

    /// Copies the data file `path` (opened by descriptor from the work tree down, as ``copyFile``) into `pool` as
    /// chunks of at most `size` bytes (fewer if it shrank), reading it once: each chunk is hashed as it is read,
    /// and linked from snapshot `previous`'s chunk at the same index when `old` (that snapshot's entry for the
    /// path) is the same inode and recorded the same hash and length for it; otherwise the bytes just read (not
    /// read again) are written. Sets `entry`'s size, hash (of the whole file), chunk size and chunk list.
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
        if let old, let previous, let names = old.chunks, old.chunkSize == chunkSize, old.data != .sqlite,
           let inode = entry.inode, old.inode == inode, let oldSize = old.size {
            reusable = (names, oldSize, SnapshotChunks.directory(of: dir + "/" + previous))
        }
        var whole = ContentHash()
        var names: [String] = []
        var offset: Int64 = 0
        while offset < size {
            let want = Int(min(chunkSize, size - offset))
            var chunk = ContentHash()
            // Read and hash (both hashes) a slice at a time, while it is in the CPU's cache: a whole chunk read
            // first and hashed after would go through memory twice more.
            var count = 0
            while count < want {
                let end = min(want, count + (1 << 18))
                let requested = end - count
                let read = try SnapshotFileReader.fill(UnsafeMutableRawBufferPointer(rebasing: buffer[count..<end]),
                                                       from: input, at: offset + Int64(count), path: path)
                let slice = UnsafeRawBufferPointer(rebasing: buffer[count..<(count + read)])
                chunk.update(slice)
                whole.update(slice)
                count += read
                if read < requested { break }  // the end of the file
            }
            if count == 0 { break }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            let hash = chunk.value
            let index = names.count
            var proven: String?
            if let reusable, index < reusable.names.count,
               SnapshotChunks.length(of: index, size: reusable.size, chunkSize: chunkSize) == Int64(count),
               SnapshotChunks.hash(ofName: reusable.names[index]) == hash {
                proven = reusable.dir + "/" + reusable.names[index]
            }
            let written = pool.writtenBytes
            names.append(try pool.place(bytes, hash: hash, previous: proven))
            if pool.writtenBytes > written { afterWrite() }
            offset += Int64(count)
            if count < want { break }  // it shrank since the scan: the snapshot holds what there is
        }
        entry.size = offset
        entry.hash = whole.value
        entry.chunkSize = chunkSize
        entry.chunks = names
    }
}
