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

    /// Hashes `bytes`.
    public static func of(_ bytes: [UInt8]) -> String {
        var hash = ContentHash()
        bytes.withUnsafeBytes { hash.update($0) }
        return hash.value
    }

    /// Hashes the first `length` bytes of the open file `fd`, reading in bounded chunks (never the whole file).
    /// Returns nil when the file holds fewer than `length` bytes.
    public static func ofPrefix(fd: Int32, length: Int64, onBytes: (Int) -> Void = { _ in }) -> String? {
        var hash = ContentHash()
        var buffer = [UInt8](repeating: 0, count: 1 << 18)
        var offset: Int64 = 0
        while offset < length {
            let want = Int(min(Int64(buffer.count), length - offset))
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            buffer.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            offset += Int64(count)
            onBytes(count)
        }
        return hash.value
    }
}
