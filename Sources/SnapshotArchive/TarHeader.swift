/// The 512-byte ustar header block (POSIX.1-1988), and the pax extended records (POSIX.1-2001) that carry
/// what it cannot: paths and link targets over 100 bytes or not ASCII, and sizes of 8 GiB or more.
enum TarHeader {
    /// Headers and content are laid out in blocks of this many bytes.
    static let blockSize = 512

    /// The `typeflag` byte.
    enum TypeFlag {
        static let file = UInt8(ascii: "0")
        static let oldFile: UInt8 = 0
        static let symlink = UInt8(ascii: "2")
        static let directory = UInt8(ascii: "5")
        static let pax = UInt8(ascii: "x")
    }

    /// The fields of a header as stored, before pax records are applied.
    struct Fields: Equatable {
        var name: [UInt8]
        var mode: UInt32
        var size: Int64
        var mtime: Int64
        var type: UInt8
        var linkName: [UInt8]
    }

    /// The largest size the 11 octal digits of the `size` field hold.
    static let maxOctalSize: Int64 = 0o77777777777

    private static let nameRange = 0..<100
    private static let modeRange = 100..<108
    private static let uidRange = 108..<116
    private static let gidRange = 116..<124
    private static let sizeRange = 124..<136
    private static let mtimeRange = 136..<148
    private static let checksumRange = 148..<156
    private static let typeOffset = 156
    private static let linkRange = 157..<257
    private static let magicRange = 257..<263
    private static let versionRange = 263..<265
    private static let prefixRange = 345..<500

    /// One header block. `name` and `linkName` are cut to 100 bytes (a pax record carries the whole value).
    static func block(_ fields: Fields) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: blockSize)
        put(Array(fields.name.prefix(100)), at: nameRange, in: &block)
        put(octal(Int64(fields.mode & 0o7777), width: 8), at: modeRange, in: &block)
        put(octal(0, width: 8), at: uidRange, in: &block)
        put(octal(0, width: 8), at: gidRange, in: &block)
        put(octal(min(fields.size, maxOctalSize), width: 12), at: sizeRange, in: &block)
        put(octal(max(0, min(fields.mtime, maxOctalSize)), width: 12), at: mtimeRange, in: &block)
        block[typeOffset] = fields.type
        put(Array(fields.linkName.prefix(100)), at: linkRange, in: &block)
        put(Array("ustar\0".utf8), at: magicRange, in: &block)
        put(Array("00".utf8), at: versionRange, in: &block)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: checksumRange, in: &block)
        let sum = block.reduce(0) { $0 + Int64($1) }
        // Six octal digits, a NUL and a space, as every tar since V7 writes it.
        put(Array(String(sum, radix: 8).leftPadded(to: 6).utf8) + [0, UInt8(ascii: " ")], at: checksumRange,
            in: &block)
        return block
    }

    /// Parses one header block; nil for an all-zero block (the end-of-archive marker).
    ///
    /// - Throws: ``ArchiveError`` `.tar` for a bad checksum, a missing ustar magic or a malformed number.
    static func parse(_ block: UnsafeRawBufferPointer) throws(ArchiveError) -> Fields? {
        precondition(block.count == blockSize)
        if block.allSatisfy({ $0 == 0 }) { return nil }
        let stored = try number(block, checksumRange, "checksum")
        var unsigned: Int64 = 0
        for (index, byte) in block.enumerated() {
            unsigned += checksumRange.contains(index) ? Int64(UInt8(ascii: " ")) : Int64(byte)
        }
        guard stored == unsigned else {
            throw ArchiveError(.tar, "a tar header has a bad checksum (the archive is damaged)")
        }
        guard Array(block[257..<262]) == Array("ustar".utf8) else {
            throw ArchiveError(.tar, "a tar header is not in ustar format")
        }
        var name = text(block, nameRange)
        let prefix = text(block, prefixRange)
        if !prefix.isEmpty { name = prefix + [UInt8(ascii: "/")] + name }
        return Fields(name: name, mode: UInt32(clamping: try number(block, modeRange, "mode")),
                      size: try number(block, sizeRange, "size"), mtime: try number(block, mtimeRange, "mtime"),
                      type: block[typeOffset], linkName: text(block, linkRange))
    }

    /// Pax extended header content: `"<length> <key>=<value>\n"` records, the length counting itself.
    static func paxRecords(_ pairs: [(key: String, value: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (key, value) in pairs {
            let body = [UInt8(ascii: " ")] + Array(key.utf8) + [UInt8(ascii: "=")] + value + [UInt8(ascii: "\n")]
            var length = body.count + 1
            while String(length).utf8.count + body.count != length { length = String(length).utf8.count + body.count }
            out += Array(String(length).utf8) + body
        }
        return out
    }

    /// Parses pax records into key → value bytes.
    ///
    /// - Throws: ``ArchiveError`` `.tar` for a malformed record.
    static func parsePax(_ bytes: [UInt8]) throws(ArchiveError) -> [String: [UInt8]] {
        var records: [String: [UInt8]] = [:]
        var index = 0
        while index < bytes.count {
            guard let space = bytes[index...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)), length > 0,
                  index + length <= bytes.count, bytes[index + length - 1] == UInt8(ascii: "\n"),
                  let equals = bytes[(space + 1)..<(index + length)].firstIndex(of: UInt8(ascii: "="))
            else { throw ArchiveError(.tar, "a pax extended header is malformed") }
            let key = String(decoding: bytes[(space + 1)..<equals], as: UTF8.self)
            records[key] = Array(bytes[(equals + 1)..<(index + length - 1)])
            index += length
        }
        return records
    }

    /// A NUL-terminated octal field of `width` bytes.
    private static func octal(_ value: Int64, width: Int) -> [UInt8] {
        Array(String(value, radix: 8).leftPadded(to: width - 1).utf8) + [0]
    }

    private static func put(_ bytes: [UInt8], at range: Range<Int>, in block: inout [UInt8]) {
        block.replaceSubrange(range.lowerBound..<(range.lowerBound + min(bytes.count, range.count)),
                              with: bytes.prefix(range.count))
    }

    private static func text(_ block: UnsafeRawBufferPointer, _ range: Range<Int>) -> [UInt8] {
        Array(block[range].prefix { $0 != 0 })
    }

    /// An octal field (leading spaces, digits, then NUL or space), or GNU base-256 when the high bit is set.
    private static func number(_ block: UnsafeRawBufferPointer, _ range: Range<Int>,
                               _ what: String) throws(ArchiveError) -> Int64 {
        let field = block[range]
        if let first = field.first, first & 0x80 != 0 {
            guard first == 0x80 else { throw ArchiveError(.tar, "a tar header has a negative \(what)") }
            var value: Int64 = 0
            for byte in field.dropFirst() {
                guard value >> 55 == 0 else { throw ArchiveError(.tar, "a tar header's \(what) is too large") }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        var value: Int64 = 0
        for byte in field.drop(while: { $0 == UInt8(ascii: " ") }) {
            if byte == 0 || byte == UInt8(ascii: " ") { break }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7"), value >> 60 == 0 else {
                throw ArchiveError(.tar, "a tar header's \(what) is not an octal number")
            }
            value = value * 8 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

extension String {
    /// The string with `0`s in front up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
