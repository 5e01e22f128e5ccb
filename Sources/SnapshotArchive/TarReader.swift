/// Reads a POSIX tar stream pushed to it in chunks of any size, reporting each entry's start, content and end.
///
/// Holds at most one header block (and one pax header, capped) in memory: content is handed on as it comes.
/// It reads what ``TarWriter`` writes — ustar files, directories and symbolic links, with pax `path`,
/// `linkpath` and `size` records — and refuses anything else (hard links, devices, GNU long names), which a
/// snapshot archive never holds.
public struct TarReader {
    /// What the stream holds, in order.
    public enum Event {
        /// An entry's header.
        case begin(TarEntry)
        /// Some content of the current entry (valid only during the call).
        case content(UnsafeRawBufferPointer)
        /// The current entry is complete.
        case end
    }

    private enum State {
        case header
        case afterFirstZeroBlock
        case ended
        case content(remaining: Int64, padding: Int)
        case paxContent(remaining: Int64, padding: Int)
        case padding(Int)
    }

    /// The largest pax header accepted; real ones hold a path or two.
    private static let paxLimit = 1 << 20

    private var state = State.header
    private var block: [UInt8] = []
    private var pax: [UInt8] = []
    private var pendingPax: [String: [UInt8]]?

    /// Creates a reader at the start of an archive.
    public init() {
        block.reserveCapacity(TarHeader.blockSize)
    }

    /// Whether the end-of-archive marker has been read.
    public var isComplete: Bool {
        if case .ended = state { return true }
        return false
    }

    /// Consumes `bytes`, calling `handle` for what they complete.
    ///
    /// - Throws: ``ArchiveError`` `.tar` for a malformed or unsupported header; what `handle` throws.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ handle: (Event) throws -> Void) throws {
        var index = 0
        while index < bytes.count {
            let rest = bytes.count - index
            switch state {
            case .ended:
                guard bytes[index...].allSatisfy({ $0 == 0 }) else {
                    throw ArchiveError(.tar, "the archive has data after its end-of-archive marker")
                }
                return
            case .header, .afterFirstZeroBlock:
                let take = min(TarHeader.blockSize - block.count, rest)
                block.append(contentsOf: bytes[index..<(index + take)])
                index += take
                if block.count == TarHeader.blockSize {
                    try header(handle)
                    block.removeAll(keepingCapacity: true)
                }
            case .content(let remaining, let padding):
                let take = Int(min(Int64(rest), remaining))
                try handle(.content(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + take)])))
                index += take
                if Int64(take) == remaining {
                    try handle(.end)
                    state = padding > 0 ? .padding(padding) : .header
                } else {
                    state = .content(remaining: remaining - Int64(take), padding: padding)
                }
            case .paxContent(let remaining, let padding):
                let take = Int(min(Int64(rest), remaining))
                pax.append(contentsOf: bytes[index..<(index + take)])
                index += take
                if Int64(take) == remaining {
                    pendingPax = try TarHeader.parsePax(pax)
                    pax.removeAll()
                    state = padding > 0 ? .padding(padding) : .header
                } else {
                    state = .paxContent(remaining: remaining - Int64(take), padding: padding)
                }
            case .padding(let left):
                let take = min(rest, left)
                index += take
                state = take == left ? .header : .padding(left - take)
            }
        }
    }

    /// Checks that the stream ended where the archive does.
    ///
    /// - Throws: ``ArchiveError`` `.truncated` when the end-of-archive marker was not read.
    public func finish() throws(ArchiveError) {
        guard isComplete else {
            throw ArchiveError(.truncated,
                               "the tar stream ends before its end-of-archive marker (the archive is cut short)")
        }
    }

    private mutating func header(_ handle: (Event) throws -> Void) throws {
        let parsed = try block.withUnsafeBytes { raw throws(ArchiveError) in try TarHeader.parse(raw) }
        guard let fields = parsed else {
            guard pendingPax == nil else { throw ArchiveError(.tar, "a pax header is followed by no entry") }
            if case .afterFirstZeroBlock = state { state = .ended } else { state = .afterFirstZeroBlock }
            return
        }
        if case .afterFirstZeroBlock = state {
            throw ArchiveError(.tar, "the archive has an entry after a zero block")
        }
        if fields.type == TarHeader.TypeFlag.pax {
            guard pendingPax == nil, fields.size <= Self.paxLimit else {
                throw ArchiveError(.tar, "the archive has an unexpected pax header")
            }
            state = fields.size > 0 ? .paxContent(remaining: fields.size, padding: Self.padding(fields.size)) : .header
            if fields.size == 0 { pendingPax = [:] }
            return
        }
        let records = pendingPax ?? [:]
        pendingPax = nil
        var name = records["path"] ?? fields.name
        let link = records["linkpath"] ?? fields.linkName
        var size = fields.size
        if let value = records["size"] {
            guard let parsed = Int64(String(decoding: value, as: UTF8.self)), parsed >= 0 else {
                throw ArchiveError(.tar, "a pax size record is not a number")
            }
            size = parsed
        }
        let kind: TarEntry.Kind
        switch fields.type {
        case TarHeader.TypeFlag.file, TarHeader.TypeFlag.oldFile: kind = .file
        case TarHeader.TypeFlag.directory:
            kind = .directory
            while name.count > 1 && name.last == UInt8(ascii: "/") { name.removeLast() }
        case TarHeader.TypeFlag.symlink: kind = .symlink
        default:
            let path = String(decoding: name, as: UTF8.self)
            throw ArchiveError(.tar, "\(path) is a tar member of type '\(Character(Unicode.Scalar(fields.type)))', "
                + "which a snapshot archive never holds")
        }
        if kind != .file { size = 0 }
        let entry = TarEntry(path: String(decoding: name, as: UTF8.self), kind: kind, size: size, mode: fields.mode,
                             mtime: fields.mtime,
                             linkTarget: kind == .symlink ? String(decoding: link, as: UTF8.self) : nil)
        try handle(.begin(entry))
        if size > 0 {
            state = .content(remaining: size, padding: Self.padding(size))
        } else {
            try handle(.end)
            state = .header
        }
    }

    private static func padding(_ size: Int64) -> Int {
        let partial = Int(size % Int64(TarHeader.blockSize))
        return partial == 0 ? 0 : TarHeader.blockSize - partial
    }
}
