/// Turns the bytes of one line of a log into text an event can carry: valid UTF-8 kept (control characters too:
/// the controller shows them escaped), each byte that is not UTF-8 written as `\x{ff}`, a `\r` before the newline
/// dropped, and a line longer than ``maxBytes`` cut with a marker that says how much was left out.
enum LogLine {
    /// The most bytes of one line shown; far below the protocol's line limit, even escaped.
    static let maxBytes = 4096

    /// A file whose first bytes hold a NUL is not text: it is named, not shown.
    static let sniffBytes = 8192

    /// The text of a line (without its newline), cut when it is longer than ``maxBytes``; `dropped` more bytes
    /// of it were already left out (a followed line too long to keep whole).
    static func render<Bytes: Collection>(_ bytes: Bytes, dropped: Int = 0) -> String where Bytes.Element == UInt8 {
        var line = Array(bytes.prefix(maxBytes))
        let cut = bytes.count - line.count + dropped
        if cut == 0, line.last == UInt8(ascii: "\r") { line.removeLast() }
        let text = decode(line)
        return cut > 0 ? text + " … [\(cut) more bytes cut]" : text
    }

    /// The end of a line whose beginning was not read (a tail that started inside it): its last ``maxBytes``,
    /// after a marker.
    static func renderEnd<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var line = Array(bytes.suffix(maxBytes))
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return "[… earlier bytes of this line cut] " + decode(line)
    }

    /// `text` cut to at most ``maxBytes`` of UTF-8, with the same marker.
    static func cut(_ text: String) -> String {
        text.utf8.count > maxBytes ? render(Array(text.utf8)) : text
    }

    /// Whether `bytes` (a file's first ``sniffBytes``) look binary: they hold a NUL.
    static func looksBinary(_ bytes: [UInt8]) -> Bool {
        bytes.contains(0)
    }

    /// UTF-8 decoding that keeps every valid sequence and writes each other byte as `\x{HH}`.
    static func decode(_ bytes: [UInt8]) -> String {
        var result = ""
        var start = 0
        var index = 0
        func flush(_ end: Int) {
            if end > start { result += String(decoding: bytes[start..<end], as: UTF8.self) }
        }
        while index < bytes.count {
            let length = sequenceLength(bytes, at: index)
            if length > 0 {
                index += length
                continue
            }
            flush(index)
            let hex = String(bytes[index], radix: 16)
            result += "\\x{" + (hex.count < 2 ? "0" : "") + hex + "}"
            index += 1
            start = index
        }
        flush(index)
        return result
    }

    /// The length of the valid UTF-8 sequence at `index`, or 0 when there is none (RFC 3629: no overlong forms,
    /// no surrogates, nothing above U+10FFFF).
    private static func sequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
        let lead = bytes[index]
        let (length, low, high): (Int, UInt8, UInt8)
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
        case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (length, low, high) = (3, 0x80, 0xBF)
        case 0xED: (length, low, high) = (3, 0x80, 0x9F)
        case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
        case 0xF4: (length, low, high) = (4, 0x80, 0x8F)
        default: return 0
        }
        guard index + length <= bytes.count, (low...high).contains(bytes[index + 1]) else { return 0 }
        for offset in 2..<max(2, length) where !(0x80...0xBF).contains(bytes[index + offset]) { return 0 }
        return length
    }
}
