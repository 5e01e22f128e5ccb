/// A compressor the tar stream is written through: gzip or zstd, input as it comes, output to a sink.
public protocol StreamCompressor: AnyObject {
    /// Bytes taken in.
    var bytesIn: Int64 { get }
    /// Compressed bytes handed to the sink.
    var bytesOut: Int64 { get }
    /// Compresses `bytes`.
    ///
    /// - Throws: what the sink throws; ``ArchiveError`` if the codec fails.
    func compress(_ bytes: UnsafeRawBufferPointer) throws
    /// Ends the stream (its trailer or checksum included).
    ///
    /// - Throws: what the sink throws; ``ArchiveError`` if the codec fails.
    func finish() throws
}

/// A decompressor a downloaded archive is read through, pushed its input in chunks of any size.
public protocol StreamDecompressor: AnyObject {
    /// Decompressed bytes handed to the sink.
    var bytesOut: Int64 { get }
    /// Decompresses `bytes`.
    ///
    /// - Throws: ``ArchiveError`` for a damaged stream or data after its end; what the sink throws.
    func decompress(_ bytes: UnsafeRawBufferPointer) throws
    /// Checks that the stream ended where it should.
    ///
    /// - Throws: ``ArchiveError`` `.truncated` when it did not.
    func finish() throws(ArchiveError)
}

extension GzipCompressor: StreamCompressor {}
extension GzipDecompressor: StreamDecompressor {}

/// How a snapshot archive's tar stream is compressed.
public enum ArchiveCompression: String, CaseIterable, Sendable {
    /// One gzip stream (RFC 1952): `.tar.gz`, read by every tar.
    case gzip
    /// One zstd frame (RFC 8878) with its checksum: `.tar.zst`; about half the CPU of gzip to compress, a fifth
    /// to decompress, and smaller.
    case zstd

    /// A decompressor of this kind writing to `sink`.
    ///
    /// - Throws: ``ArchiveError`` when the codec cannot start.
    public func decompressor(bufferSize: Int = 1 << 18,
                             sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws(ArchiveError)
        -> any StreamDecompressor {
        switch self {
        case .gzip: try GzipDecompressor(bufferSize: bufferSize, sink: sink)
        case .zstd: try ZstdDecompressor(bufferSize: bufferSize, sink: sink)
        }
    }
}
