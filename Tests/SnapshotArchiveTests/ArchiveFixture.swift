import Foundation
import SnapshotArchive

/// Entries with content, written to and read from `.tar.gz` and `.tar.zst` bytes in memory, for the archive tests.
struct ArchiveFixture {
    /// An entry and, for a file, its content.
    struct Member: Equatable {
        var entry: TarEntry
        var content: [UInt8] = []
    }

    var members: [Member]

    /// The members as a gzip-compressed tar, written in small pieces.
    func tarGz(level: Int32 = 6) throws -> [UInt8] {
        var out: [UInt8] = []
        let gzip = try GzipCompressor(level: level, bufferSize: 4096) { out.append(contentsOf: $0) }
        try write(through: gzip)
        return out
    }

    /// The members as a zstd-compressed tar, written in small pieces.
    func tarZst(level: Int32 = 1, bufferSize: Int = 4096) throws -> [UInt8] {
        var out: [UInt8] = []
        let zstd = try ZstdCompressor(level: level, bufferSize: bufferSize) { out.append(contentsOf: $0) }
        try write(through: zstd)
        return out
    }

    private func write(through compressor: any StreamCompressor) throws {
        var tar = TarWriter { try compressor.compress($0) }
        for member in members {
            try tar.begin(member.entry)
            // Uneven pieces, so content crosses block boundaries inside writes.
            var offset = 0
            while offset < member.content.count {
                let end = min(member.content.count, offset + 777)
                try member.content[offset..<end].withUnsafeBytes { try tar.write($0) }
                offset = end
            }
            try tar.end()
        }
        try tar.finish()
        try compressor.finish()
    }

    /// Reads compressed tar bytes fed `chunk` bytes at a time.
    static func read(_ bytes: [UInt8], chunk: Int = 1000, compression: ArchiveCompression = .gzip) throws
        -> [Member] {
        var members: [Member] = []
        var reader = TarReader()
        let decompressor = try compression.decompressor(bufferSize: 3000) { data in
            try reader.feed(data) { event in
                switch event {
                case .begin(let entry): members.append(Member(entry: entry))
                case .content(let bytes): members[members.count - 1].content.append(contentsOf: bytes)
                case .end: break
                }
            }
        }
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            try bytes[offset..<end].withUnsafeBytes { try decompressor.decompress($0) }
            offset = end
        }
        try decompressor.finish()
        try reader.finish()
        return members
    }

    /// Deterministic bytes that do not compress much.
    static func noise(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }
}
