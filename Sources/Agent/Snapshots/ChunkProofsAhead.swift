import Platform
import SnapshotArchive
import Synchronization

/// The proofs of a snapshot's grown files, started before the snapshot phase: a deploy's preflight mostly waits
/// for git (fetch, status, ls-tree), and the chunks of a file that only grew — a 2 GB JSONL, 500 chunks — can be
/// read and hashed meanwhile, on two threads, instead of after it. The snapshot takes a proof only for the very
/// file it has open (same device and inode) over exactly the chunks it would prove itself, and joins in on what
/// is left of it (``ChunkHashes/finish()``); any other proof is cancelled.
///
/// A proof taken ahead holds what the chunks held when they were read, as one taken in the snapshot phase holds
/// what they held then: the bytes a chunk is linked for are the bytes its hash was taken over either way.
enum ChunkProofsAhead {
    private struct Proof {
        var device: UInt64
        var inode: UInt64
        var job: ChunkHashes
    }

    private static let proofs = Mutex<[String: Proof]>([:])

    /// Starts proving, for each chunked file of `manifest` (the newest snapshot's) whose file under `root` still
    /// has the recorded inode, the whole chunks that manifest's hash state covers, as ``SnapshotStore`` would.
    /// Files are opened by descriptor from `root` down, never through a link.
    static func start(root: String, manifest: Manifest) {
        let chunkSize = SnapshotChunks.size
        var parents = DirectoryHandle.Parents(root: root)
        for old in manifest.entries {
            guard old.kind == .file, let inode = old.inode, let state = SnapshotChunks.provable(old)?.resume,
                  state.length > 0, let (directory, name) = try? parents.parent(of: old.path),
                  // Non-blocking: a FIFO the bot put there must not hold the deploy in open(2) (it is refused below).
                  let fd = try? directory.openFile(name, O_RDONLY | O_NONBLOCK) else { continue }
            var info = stat()
            guard fstat(fd, &info) == 0, UInt64(info.st_ino) == inode, (info.st_mode & S_IFMT) == S_IFREG else {
                close(fd)
                continue
            }
            let length = min(state.length / chunkSize, Int64(info.st_size) / chunkSize) * chunkSize
            guard length > 0 else {
                close(fd)
                continue
            }
            let job = ChunkHashes.start(fd: fd, chunkSize: chunkSize, length: length, path: old.path, threads: 1,
                                        ownsDescriptor: true)
            let replaced = proofs.withLock { proofs in
                defer { proofs[old.path] = Proof(device: UInt64(info.st_dev), inode: inode, job: job) }
                return proofs[old.path]
            }
            replaced?.job.cancel()
        }
    }

    /// The proof started ahead for the file at `path` (relative to the work tree) if it reads the file `fd` is
    /// open on, over exactly `length` bytes in chunks of `chunkSize`; nil otherwise (then cancelled). Either way
    /// it is no longer kept.
    static func take(path: String, fd: Int32, chunkSize: Int64, length: Int64) -> ChunkHashes? {
        guard let proof = proofs.withLock({ $0.removeValue(forKey: path) }) else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, UInt64(info.st_dev) == proof.device, UInt64(info.st_ino) == proof.inode,
              proof.job.chunkSize == chunkSize, proof.job.length == length else {
            proof.job.cancel()
            return nil
        }
        return proof.job
    }

    /// Cancels every proof not taken (the deploy was refused, or the file is no longer chunked).
    static func cancelAll() {
        let left = proofs.withLock { proofs in
            defer { proofs = [:] }
            return Array(proofs.values)
        }
        for proof in left { proof.job.cancel() }
    }
}
