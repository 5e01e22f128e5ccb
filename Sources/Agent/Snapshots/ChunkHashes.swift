import Platform
import SnapshotArchive
import Synchronization

/// The XXH64 of each of a file's first chunks, read and hashed on two threads (each takes the next chunk not yet
/// taken, so a thread the VM's other processes hold up leaves more to the other): what proves the chunks of a
/// file that only grew unchanged (a snapshot, and verify and the data guard for a chunked file), at up to twice
/// the speed of one thread on a VM with a second core. Each thread reads through its own small page-aligned
/// buffer, so the bytes are hashed while they are in the CPU's cache; nothing is kept but the hashes.
///
/// A job can also be started ahead (``start(fd:chunkSize:length:path:threads:ownsDescriptor:)``, see
/// ``ChunkProofsAhead``) and finished later: ``finish()`` takes the chunks still untaken on the caller's thread
/// and waits for the rest. Without a thread (`pthread_create` failed) the caller's hashes them all.
final class ChunkHashes: @unchecked Sendable {
    // Each thread writes only the elements of `hashes` it took, and the caller reads them after joining the rest.
    let fd: Int32
    let chunkSize: Int64
    let length: Int64
    private let path: String
    private let ownsDescriptor: Bool
    private let hashes: UnsafeMutableBufferPointer<String?>
    /// The next chunk no thread has taken.
    private let next = Atomic<Int>(0)
    private var threads: [pthread_t] = []

    private init(fd: Int32, chunkSize: Int64, length: Int64, count: Int, path: String, ownsDescriptor: Bool) {
        self.fd = fd
        self.chunkSize = chunkSize
        self.length = length
        self.path = path
        self.ownsDescriptor = ownsDescriptor
        hashes = .allocate(capacity: count)
        hashes.initialize(repeating: nil)
    }

    deinit {
        // Every thread held the job while it hashed: those not joined have finished (this may run on the last).
        for thread in threads { pthread_detach(thread) }
        _ = hashes.deinitialize()
        hashes.deallocate()
        if ownsDescriptor { close(fd) }
    }

    /// The `xxh64:…` of each chunk of the first `length` bytes of the open file `fd` (`chunkSize` bytes each, the
    /// last one shorter); nil for one that could not be read whole (the caller reads it again, and reports what
    /// fails, or counts it as different).
    static func of(fd: Int32, chunkSize: Int64, length: Int64, path: String) -> [String?] {
        start(fd: fd, chunkSize: chunkSize, length: length, path: path, threads: 1).finish()
    }

    /// Starts hashing on `threads` threads of its own; ``finish()`` returns the hashes. With `ownsDescriptor`,
    /// `fd` is closed when the job is released.
    static func start(fd: Int32, chunkSize: Int64, length: Int64, path: String, threads: Int,
                      ownsDescriptor: Bool = false) -> ChunkHashes {
        let count = Int((max(0, length) + chunkSize - 1) / chunkSize)
        let work = ChunkHashes(fd: fd, chunkSize: chunkSize, length: length, count: count, path: path,
                               ownsDescriptor: ownsDescriptor)
        for _ in 0..<(count > 1 ? threads : 0) {
            var handle = pthread_t()
            let context = Unmanaged.passRetained(work).toOpaque()
            if pthread_create(&handle, nil, { context in
                Unmanaged<ChunkHashes>.fromOpaque(context!).takeRetainedValue().hashChunks()
                return nil
            }, context) == 0 {
                work.threads.append(handle)
            } else {
                Unmanaged<ChunkHashes>.fromOpaque(context).release()
            }
        }
        return work
    }

    /// Hashes what no thread has taken yet on the caller's thread, waits for the others, and returns every hash.
    func finish() -> [String?] {
        hashChunks()
        join()
        return Array(hashes)
    }

    /// Stops the threads after the chunk each is on and waits for them; the hashes not taken stay nil.
    func cancel() {
        _ = next.wrappingAdd(hashes.count, ordering: .relaxed)
        join()
    }

    private func join() {
        for thread in threads { pthread_join(thread, nil) }
        threads = []
    }

    private func hashChunks() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SnapshotStore.proofSlice,
                                                            alignment: ContentHash.bufferAlignment)
        defer { buffer.deallocate() }
        while true {
            let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard index < hashes.count else { return }
            hashes[index] = chunk(index, buffer)
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
