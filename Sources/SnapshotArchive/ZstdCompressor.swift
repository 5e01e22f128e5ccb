import CZstd

/// Compresses a byte stream into one zstd frame (RFC 8878) with its content checksum, through one fixed output
/// buffer: the input is taken as it comes and the output handed on as it fills, so memory stays flat (zstd's
/// window and tables, a few MiB at the fast levels) whatever the stream's size.
///
/// Data that does not compress (already compressed, random) costs zstd little: it notices and stores such blocks
/// raw, so unlike ``GzipCompressor`` this needs no level switching. Not `Sendable`: one stream, one thread.
public final class ZstdCompressor: StreamCompressor {
    /// Receives compressed bytes in order.
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    private let context: OpaquePointer
    private let output: UnsafeMutableRawBufferPointer
    private let sink: Sink
    private var finished = false

    /// Bytes taken in.
    public private(set) var bytesIn: Int64 = 0
    /// Compressed bytes handed to the sink.
    public private(set) var bytesOut: Int64 = 0

    /// Starts a zstd frame at `level` (1 fastest of the regular levels … 19) that writes to `sink`, in the
    /// caller's thread (Debian's `libzstd.a` is built without zstd's worker threads).
    ///
    /// - Parameters:
    ///   - level: The compression level.
    ///   - bufferSize: The output buffer: how many bytes at most each call of `sink` gets.
    ///   - sink: Receives the compressed bytes.
    /// - Throws: ``ArchiveError`` `.zstd` when zstd cannot start (no memory, a level it refuses).
    public init(level: Int32, bufferSize: Int = 1 << 17, sink: @escaping Sink) throws(ArchiveError) {
        // Set up before any stored property is: a throw after that would run deinit, which frees them too.
        guard let context = ZSTD_createCCtx() else {
            throw ArchiveError(.zstd, "zstd could not start compressing (out of memory)")
        }
        for (parameter, value, name) in [(ZSTD_c_compressionLevel, level, "level \(level)"),
                                         (ZSTD_c_checksumFlag, 1, "its checksum")] {
            let status = ZSTD_CCtx_setParameter(context, parameter, value)
            guard ZSTD_isError(status) == 0 else {
                ZSTD_freeCCtx(context)
                throw ArchiveError(.zstd, "zstd refused \(name) (\(Self.errorName(status)))")
            }
        }
        self.context = context
        output = .allocate(byteCount: bufferSize, alignment: 16)
        self.sink = sink
    }

    /// Bytes zstd holds for this stream (its window, tables and buffers): what memory it costs, which stays the
    /// same however long the stream runs.
    public var memoryBytes: Int { ZSTD_sizeof_CCtx(context) }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
    }

    /// Compresses `bytes`; compressed output reaches the sink whenever the buffer fills.
    ///
    /// - Throws: what the sink throws; ``ArchiveError`` `.zstd` if zstd fails.
    public func compress(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "ZstdCompressor.compress after finish")
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        var input = ZSTD_inBuffer(src: base, size: bytes.count, pos: 0)
        while input.pos < input.size {
            try run(&input, ZSTD_e_continue)
        }
        bytesIn += Int64(bytes.count)
    }

    /// Ends the frame: flushes what zstd holds and writes the frame's checksum.
    ///
    /// - Throws: what the sink throws; ``ArchiveError`` `.zstd` if zstd fails.
    public func finish() throws {
        precondition(!finished, "ZstdCompressor.finish twice")
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try run(&input, ZSTD_e_end) != 0 {}
        finished = true
    }

    /// One call of `ZSTD_compressStream2`; returns what it does (for `ZSTD_e_end`, the bytes still to flush).
    @discardableResult
    private func run(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws -> Int {
        var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let status = ZSTD_compressStream2(context, &out, &input, mode)
        guard ZSTD_isError(status) == 0 else {
            throw ArchiveError(.zstd, "zstd failed while compressing (\(Self.errorName(status)))")
        }
        if out.pos > 0 {
            try sink(UnsafeRawBufferPointer(rebasing: output[0..<out.pos]))
            bytesOut += Int64(out.pos)
        }
        return status
    }

    static func errorName(_ code: Int) -> String {
        String(cString: ZSTD_getErrorName(code))
    }
}
