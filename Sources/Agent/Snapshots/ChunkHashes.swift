import Platform
import SnapshotArchive

/// The XXH64 of each of a file's first chunks, read and hashed on two threads (the even chunks on the caller's,
/// the odd ones on a second): what proves the chunks of a file that only grew unchanged (a snapshot, and verify
/// and the data guard for a chunked file), at up to twice the speed of one thread on a VM with a second core.
/// Each thread reads through its own small page-aligned buffer, so the bytes are hashed while they are in the
/// CPU's cache; nothing is kept but the hashes.
///
/// Without a second thread (`pthread_create` failed) the caller's hashes them all.
final class ChunkHashes: @unchecked Sendable {
    // Each thread writes only its own elements of `hashes`, and the caller reads them after joining the other.
    private let fd: Int32
    private let chunkSize: Int64
    private let length: Int64
    private let path: String
    private let hashes: UnsafeMutableBufferPointer<String?>

    private init(fd: Int32, chunkSize: Int64, length: Int64, count: Int, path: String) {
        self.fd = fd
        self.chunkSize = chunkSize
        self.length = length
        self.path = path
        hashes = .allocate(capacity: count)
        hashes.initialize(repeating: nil)
    }

    deinit {
        _ = hashes.deinitialize()
        hashes.deallocate()
    }

    /// The `xxh64:…` of each chunk of the first `length` bytes of the open file `fd` (`chunkSize` bytes each, the
    /// last one shorter); nil for one that could not be read whole (the caller reads it again, and reports what
    /// fails, or counts it as different).
    static func of(fd: Int32, chunkSize: Int64, length: Int64, path: String) -> [String?] {
        let count = Int((max(0, length) + chunkSize - 1) / chunkSize)
        guard count > 0 else { return [] }
        let work = ChunkHashes(fd: fd, chunkSize: chunkSize, length: length, count: count, path: path)
        var handle = pthread_t()
        let context = Unmanaged.passRetained(work).toOpaque()
        let started = count > 1 && pthread_create(&handle, nil, { context in
            Unmanaged<ChunkHashes>.fromOpaque(context!).takeRetainedValue().hash(from: 1, step: 2)
            return nil
        }, context) == 0
        if !started { Unmanaged<ChunkHashes>.fromOpaque(context).release() }
        work.hash(from: 0, step: started ? 2 : 1)
        if started { pthread_join(handle, nil) }
        return Array(work.hashes)
    }

    private func hash(from first: Int, step: Int) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SnapshotStore.proofSlice,
                                                            alignment: ContentHash.bufferAlignment)
        defer { buffer.deallocate() }
        var index = first
        while index < hashes.count {
            hashes[index] = chunk(index, buffer)
            index += step
        }
    }

    private func chunk(_ index: Int, _ buffer: UnsafeMutableRawBufferPointer) -> String? {
        var hash = ContentHash()
        let start = Int64(index) * chunkSize
        let size = min(chunkSize, length - start)
        var done: Int64 = 0
        while done < size {
            let want = Int(min(Int64(buffer.count), size - done))
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want])
            guard let read = try? SnapshotFileReader.fill(target, from: fd, at: start + done, path: path),
                  read == want else { return nil }
            hash.update(UnsafeRawBufferPointer(target))
            done += Int64(read)
        }
        return hash.value
    }
}
