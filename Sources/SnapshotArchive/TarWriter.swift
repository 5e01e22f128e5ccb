/// Writes a POSIX tar stream (ustar headers, pax records where ustar falls short) to a sink, one entry at a
/// time: `begin`, the content in any number of `write`s, `end`; then `finish`. Nothing is buffered beyond a
/// header block, so an archive of any size streams in constant memory.
public struct TarWriter {
    /// Receives the archive's bytes in order.
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    private let sink: Sink
    private var current: TarEntry?
    private var remaining: Int64 = 0
    private var finished = false

    /// Bytes of archive written so far.
    public private(set) var bytesWritten: Int64 = 0

    /// Creates a writer that hands every byte to `sink`.
    public init(sink: @escaping Sink) {
        self.sink = sink
    }

    /// Starts an entry: writes its header (and a pax header before it when needed).
    ///
    /// - Throws: what the sink throws; ``ArchiveError`` `.tar` for an empty path or one with a NUL byte.
    public mutating func begin(_ entry: TarEntry) throws {
        precondition(current == nil && !finished, "TarWriter.begin while an entry is open or after finish")
        let path = Array(entry.path.utf8)
        guard !path.isEmpty, !path.contains(0), entry.linkTarget.map({ !$0.utf8.contains(0) }) ?? true else {
            throw ArchiveError(.tar, "cannot archive the path \"\(entry.path)\"")
        }
        let name = entry.kind == .directory ? path + [UInt8(ascii: "/")] : path
        let link = Array((entry.linkTarget ?? "").utf8)
        var pax: [(key: String, value: [UInt8])] = []
        if name.count > 100 || !isASCII(name) { pax.append((key: "path", value: name)) }
        if link.count > 100 || !isASCII(link) { pax.append((key: "linkpath", value: link)) }
        let size = entry.kind == .file ? entry.size : 0
        if size > TarHeader.maxOctalSize { pax.append((key: "size", value: Array(String(size).utf8))) }
        if !pax.isEmpty {
            let records = TarHeader.paxRecords(pax)
            try emit(TarHeader.block(.init(name: Array("././@PaxHeader".utf8), mode: 0o644, size: Int64(records.count),
                                           mtime: entry.mtime, type: TarHeader.TypeFlag.pax, linkName: [])))
            try emit(records)
            try pad(Int64(records.count))
        }
        let type = switch entry.kind {
        case .file: TarHeader.TypeFlag.file
        case .directory: TarHeader.TypeFlag.directory
        case .symlink: TarHeader.TypeFlag.symlink
        }
        try emit(TarHeader.block(.init(name: name, mode: entry.mode, size: size, mtime: entry.mtime, type: type,
                                       linkName: link)))
        current = entry
        remaining = size
    }

    /// Writes content of the open entry.
    ///
    /// - Throws: what the sink throws; ``ArchiveError`` `.sizeMismatch` for more bytes than the header declared.
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let entry = current else { preconditionFailure("TarWriter.write outside an entry") }
        guard Int64(bytes.count) <= remaining else {
            throw ArchiveError(.sizeMismatch, "\(entry.path) has more than the \(entry.size) bytes declared")
        }
        try sink(bytes)
        remaining -= Int64(bytes.count)
        bytesWritten += Int64(bytes.count)
    }

    /// Ends the open entry, padding its content to a whole block.
    ///
    /// - Throws: what the sink throws; ``ArchiveError`` `.sizeMismatch` when fewer bytes came than declared.
    public mutating func end() throws {
        guard let entry = current else { preconditionFailure("TarWriter.end outside an entry") }
        guard remaining == 0 else {
            throw ArchiveError(.sizeMismatch,
                               "\(entry.path) has \(remaining) bytes fewer than the \(entry.size) declared")
        }
        try pad(entry.kind == .file ? entry.size : 0)
        current = nil
    }

    /// Writes the end-of-archive marker: two zero blocks.
    ///
    /// - Throws: what the sink throws.
    public mutating func finish() throws {
        precondition(current == nil && !finished, "TarWriter.finish while an entry is open or twice")
        try emit([UInt8](repeating: 0, count: 2 * TarHeader.blockSize))
        finished = true
    }

    private mutating func pad(_ size: Int64) throws {
        let partial = Int(size % Int64(TarHeader.blockSize))
        if partial > 0 { try emit([UInt8](repeating: 0, count: TarHeader.blockSize - partial)) }
    }

    private mutating func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try sink($0) }
        bytesWritten += Int64(bytes.count)
    }

    private func isASCII(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 < 0x80 } }
}
