import CXXHash
import Platform

/// The content hash recorded in snapshot manifests: XXH64 of the bytes, written `xxh64:<16 hex digits>`.
///
/// Manifests need a fast check that bytes are the same ones, not a defence against someone forging files
/// (whoever can write the data dirs can write the manifest too), so a non-cryptographic hash is the fit.
public struct ContentHash: Sendable {
    private var state = shipkeep_xxh64_state()

    /// Starts an empty hash.
    public init() {
        shipkeep_xxh64_reset(&state, 0)
    }

    /// Adds `bytes`.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        shipkeep_xxh64_update(&state, bytes.baseAddress, bytes.count)
    }

    /// `xxh64:…` of the bytes so far.
    public var value: String {
        var digest = state
        let hex = String(shipkeep_xxh64_digest(&digest), radix: 16)
        return "xxh64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Bytes hashed so far.
    public var length: Int64 { Int64(state.total_len) }

    /// The state so far as text, to carry the hash on later from here without the bytes (a snapshot's chunked
    /// file: see `Manifest.Entry.hashState`): `<bytes>:<lane 1>:<lane 2>:<lane 3>:<lane 4>`, in hex. Nil unless
    /// the bytes so far fill whole 32-byte stripes (nothing is buffered), which any multiple of a chunk does.
    public var checkpoint: String? {
        guard state.buffered == 0 else { return nil }
        let lanes = [state.v.0, state.v.1, state.v.2, state.v.3]
        return ([state.total_len] + lanes).map { String($0, radix: 16) }.joined(separator: ":")
    }

    /// The hash in the state ``checkpoint`` recorded; nil when `checkpoint` is not one.
    public init?(checkpoint: String) {
        let fields = checkpoint.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 5, fields.allSatisfy({ $0.utf8.count <= 16 }) else { return nil }
        let values = fields.compactMap { UInt64($0, radix: 16) }
        guard values.count == 5, values[0] % 32 == 0 else { return nil }
        shipkeep_xxh64_reset(&state, 0)
        state.total_len = values[0]
        state.v = (values[1], values[2], values[3], values[4])
    }

    /// Hashes `bytes`.
    public static func of(_ bytes: [UInt8]) -> String {
        var hash = ContentHash()
        bytes.withUnsafeBytes { hash.update($0) }
        return hash.value
    }

    /// The alignment of every buffer that file bytes are read into to be hashed: a page. The kernel copies
    /// from the page cache 3–4 times slower into a destination that is not cache-line aligned (measured on this
    /// project's VM: 2 GB in 1.1–1.5 s of system time into a buffer at +16 bytes, where `malloc` and `[UInt8]`
    /// put their bytes, against 0.35 s into one aligned to 64 bytes or more).
    public static let bufferAlignment = 4096

    /// Hashes the first `length` bytes of the open file `fd`, reading in bounded chunks (never the whole file).
    /// Returns nil when the file holds fewer than `length` bytes.
    public static func ofPrefix(fd: Int32, length: Int64, onBytes: (Int) -> Void = { _ in }) -> String? {
        var hash = ContentHash()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 17, alignment: bufferAlignment)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while offset < length {
            let want = Int(min(Int64(buffer.count), length - offset))
            let count = pread(fd, buffer.baseAddress, want, off_t(offset))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            hash.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            offset += Int64(count)
            onBytes(count)
        }
        return hash.value
    }
}
