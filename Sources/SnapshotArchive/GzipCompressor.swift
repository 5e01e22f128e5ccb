import CZlib

/// Deflates a byte stream into the gzip format (RFC 1952) through one fixed output buffer: the input is
/// taken as it comes and the output handed on as it fills, so memory stays flat whatever the stream's size.
///
/// Owns a zlib `z_stream`, which must not move once initialized (zlib keeps a pointer back to it), hence
/// the class and the separately allocated stream. Not `Sendable`: one stream, one thread.
public final class GzipCompressor {
    /// Receives compressed bytes in order.
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    private let sink: Sink
    private var finished = false
    /// The current compression level.
    public private(set) var level: Int32

    /// Bytes taken in.
    public private(set) var bytesIn: Int64 = 0
    /// Compressed bytes handed to the sink.
    public private(set) var bytesOut: Int64 = 0

    /// Starts a gzip stream at `level` (1 fastest … 9 smallest) that writes to `sink`.
    ///
    /// - Throws: ``ArchiveError`` `.gzip` when zlib cannot start (no memory, a bad level).
    public init(level: Int32, bufferSize: Int = 1 << 16, sink: @escaping Sink) throws(ArchiveError) {
        // Set up before any stored property is: a throw after that would run deinit, which frees them too.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = shipkeep_deflate_init_gzip(stream, level)
        guard status == Z_OK else {
            stream.deallocate()
            throw ArchiveError(.gzip, "zlib could not start compressing (deflateInit2 returned \(status))")
        }
        self.stream = stream
        output = .allocate(byteCount: bufferSize, alignment: 16)
        self.sink = sink
        self.level = level
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    /// Compresses `bytes`; compressed output reaches the sink whenever the buffer fills.
    ///
    /// - Throws: what the sink throws; ``ArchiveError`` `.gzip` if zlib fails.
    public func compress(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "GzipCompressor.compress after finish")
        guard !bytes.isEmpty else { return }
        // avail_in is 32 bits; snapshot reads are far smaller, but slice anyway rather than truncate.
        var offset = 0
        while offset < bytes.count {
            let part = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(bytes.count, offset + (1 << 30))])
            let input = part.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input)
            stream.pointee.avail_in = uInt(part.count)
            repeat {
                try run(Z_NO_FLUSH)
            } while stream.pointee.avail_out == 0
            offset += part.count
        }
        bytesIn += Int64(bytes.count)
    }

    /// Changes the compression level for what comes next (0 stores: for data that does not compress, it costs
    /// a few bytes per 64 KiB instead of deflate's futile search for matches).
    ///
    /// - Throws: what the sink throws; ``ArchiveError`` `.gzip` if zlib fails.
    public func setLevel(_ newLevel: Int32) throws {
        precondition(!finished, "GzipCompressor.setLevel after finish")
        guard newLevel != level else { return }
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        // End the current block at the old level and drain it, so deflateParams has nothing left to compress
        // (it would otherwise need output space of its own).
        repeat {
            try run(Z_BLOCK)
        } while stream.pointee.avail_out == 0
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = deflateParams(stream, newLevel, Z_DEFAULT_STRATEGY)
        guard status == Z_OK else {
            throw ArchiveError(.gzip, "zlib could not change the compression level (deflateParams returned \(status))")
        }
        let produced = output.count - Int(stream.pointee.avail_out)
        if produced > 0 {
            try sink(UnsafeRawBufferPointer(rebasing: output[0..<produced]))
            bytesOut += Int64(produced)
        }
        level = newLevel
    }

    /// Ends the stream: flushes what zlib holds and writes the gzip trailer (CRC-32 and length).
    ///
    /// - Throws: what the sink throws; ``ArchiveError`` `.gzip` if zlib fails.
    public func finish() throws {
        precondition(!finished, "GzipCompressor.finish twice")
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        while try run(Z_FINISH) != Z_STREAM_END {}
        finished = true
    }

    @discardableResult
    private func run(_ flush: Int32) throws -> Int32 {
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = deflate(stream, flush)
        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
            throw ArchiveError(.gzip, "zlib failed while compressing (deflate returned \(status))")
        }
        let produced = output.count - Int(stream.pointee.avail_out)
        if produced > 0 {
            try sink(UnsafeRawBufferPointer(rebasing: output[0..<produced]))
            bytesOut += Int64(produced)
        }
        return status
    }
}
