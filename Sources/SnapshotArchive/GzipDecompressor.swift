import CZlib

/// Inflates one gzip stream (RFC 1952) pushed to it in chunks, handing the output on through one fixed
/// buffer. zlib checks the trailer's CRC-32 and length; bytes after the stream's end are refused.
///
/// Owns a zlib `z_stream` at a fixed address (see ``GzipCompressor``). Not `Sendable`.
public final class GzipDecompressor {
    /// Receives decompressed bytes in order.
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    private let sink: Sink

    /// Whether the whole stream, trailer included, has been read.
    public private(set) var isComplete = false
    /// Decompressed bytes handed to the sink.
    public private(set) var bytesOut: Int64 = 0

    /// Starts reading a gzip stream whose content goes to `sink`.
    ///
    /// - Throws: ``ArchiveError`` `.gzip` when zlib cannot start.
    public init(bufferSize: Int = 1 << 16, sink: @escaping Sink) throws(ArchiveError) {
        // Set up before any stored property is: a throw after that would run deinit, which frees them too.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = shipkeep_inflate_init_gzip(stream)
        guard status == Z_OK else {
            stream.deallocate()
            throw ArchiveError(.gzip, "zlib could not start decompressing (inflateInit2 returned \(status))")
        }
        self.stream = stream
        output = .allocate(byteCount: bufferSize, alignment: 16)
        self.sink = sink
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    /// Decompresses `bytes`.
    ///
    /// - Throws: ``ArchiveError`` `.gzip` for data that is not gzip, fails its checks, or follows the end of
    ///   the stream; what the sink throws.
    public func decompress(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        guard !isComplete else { throw ArchiveError(.gzip, "the file has data after the end of its gzip stream") }
        var offset = 0
        while offset < bytes.count {
            let part = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(bytes.count, offset + (1 << 30))])
            let input = part.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input)
            stream.pointee.avail_in = uInt(part.count)
            while stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0 {
                stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(output.count)
                let status = inflate(stream, Z_NO_FLUSH)
                let produced = output.count - Int(stream.pointee.avail_out)
                if produced > 0 {
                    try sink(UnsafeRawBufferPointer(rebasing: output[0..<produced]))
                    bytesOut += Int64(produced)
                }
                if status == Z_STREAM_END {
                    isComplete = true
                    guard stream.pointee.avail_in == 0 else {
                        throw ArchiveError(.gzip, "the file has data after the end of its gzip stream")
                    }
                    break
                }
                if status == Z_BUF_ERROR && produced == 0 { break }  // needs more input
                guard status == Z_OK || status == Z_BUF_ERROR else {
                    let reason = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw ArchiveError(.gzip, "the gzip stream is damaged (\(reason))")
                }
            }
            offset += part.count
        }
    }

    /// Checks that the stream ended, trailer and all.
    ///
    /// - Throws: ``ArchiveError`` `.truncated` when it did not.
    public func finish() throws(ArchiveError) {
        guard isComplete else { throw ArchiveError(.truncated, "the gzip stream is cut short") }
    }
}
