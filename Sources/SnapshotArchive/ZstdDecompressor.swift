import CZstd

/// Decompresses one zstd frame pushed to it in chunks, handing the output on through one fixed buffer. zstd
/// checks the frame's content checksum at its end; a second frame, or any byte after the first, is refused.
///
/// Memory is bounded whatever the input claims: frames that need a window over ``maxWindowLog`` bits are refused
/// rather than allocated for. Not `Sendable`.
public final class ZstdDecompressor: StreamDecompressor {
    /// Receives decompressed bytes in order.
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    /// The largest window accepted, 2^24 bytes (16 MiB): every regular level (`zstd -19` uses 8 MiB) fits, and
    /// a hostile stream cannot make this side allocate zstd's default limit of 128 MiB or more.
    public static let maxWindowLog: Int32 = 24

    private let context: OpaquePointer
    private let output: UnsafeMutableRawBufferPointer
    private let sink: Sink

    /// Whether the whole frame, checksum included, has been read.
    public private(set) var isComplete = false
    /// Decompressed bytes handed to the sink.
    public private(set) var bytesOut: Int64 = 0

    /// Starts reading a zstd frame whose content goes to `sink`.
    ///
    /// - Throws: ``ArchiveError`` `.zstd` when zstd cannot start.
    public init(bufferSize: Int = 1 << 17, sink: @escaping Sink) throws(ArchiveError) {
        // Set up before any stored property is: a throw after that would run deinit, which frees them too.
        guard let context = ZSTD_createDCtx() else {
            throw ArchiveError(.zstd, "zstd could not start decompressing (out of memory)")
        }
        let status = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Self.maxWindowLog)
        guard ZSTD_isError(status) == 0 else {
            ZSTD_freeDCtx(context)
            throw ArchiveError(.zstd, "zstd refused a window limit (\(ZstdCompressor.errorName(status)))")
        }
        self.context = context
        output = .allocate(byteCount: bufferSize, alignment: 16)
        self.sink = sink
    }

    /// Bytes zstd holds for this stream (its window, tables and buffers): what memory it costs, which stays the
    /// same however long the stream runs.
    public var memoryBytes: Int { ZSTD_sizeof_DCtx(context) }

    deinit {
        ZSTD_freeDCtx(context)
        output.deallocate()
    }

    /// Decompresses `bytes`.
    ///
    /// - Throws: ``ArchiveError`` `.zstd` for data that is not zstd, fails its checksum, or follows the end of the
    ///   frame; what the sink throws.
    public func decompress(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        guard !isComplete else { throw afterEnd }
        var input = ZSTD_inBuffer(src: base, size: bytes.count, pos: 0)
        var full = false
        // Until the input is used up, and once more after an output buffer that came back full (zstd may hold
        // more output without needing more input).
        while input.pos < input.size || full {
            var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            let status = ZSTD_decompressStream(context, &out, &input)
            guard ZSTD_isError(status) == 0 else {
                throw ArchiveError(.zstd, "the zstd stream is damaged (\(ZstdCompressor.errorName(status)))")
            }
            if out.pos > 0 {
                try sink(UnsafeRawBufferPointer(rebasing: output[0..<out.pos]))
                bytesOut += Int64(out.pos)
            }
            // 0: the frame is complete and all of it flushed.
            if status == 0 {
                isComplete = true
                guard input.pos == input.size else { throw afterEnd }
                return
            }
            full = out.pos == out.size
        }
    }

    /// Checks that the frame ended, checksum and all.
    ///
    /// - Throws: ``ArchiveError`` `.truncated` when it did not.
    public func finish() throws(ArchiveError) {
        guard isComplete else { throw ArchiveError(.truncated, "the zstd stream is cut short") }
    }

    private var afterEnd: ArchiveError {
        ArchiveError(.zstd, "the file has data after the end of its zstd stream")
    }
}
