/// A JSON value read by a strict RFC 8259 parser: no raw control characters inside strings, no lone surrogate
/// escapes, no trailing bytes, a top-level object or array. ``JSONDecoding`` decodes from it, and ``WireCodec``
/// searches every string in it (skipped fields included) for control characters, and the agent's snapshot
/// manifest maps it to its own types by hand (`Manifest+JSON.swift`).
package enum JSONValue {
    case string(String)
    /// A number as the line spells it (`-1.5e3`), read into the type asked for when decoded.
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    /// Members in line order; a key given twice appears twice.
    case object([(key: String, value: JSONValue)])

    /// Deeper than any protocol message nests (`JSONDecoder` stopped at the same depth).
    package static let maxDepth = 512

    /// The value `bytes` hold, or nil when they are not exactly one JSON object or array.
    package static func parse(_ bytes: [UInt8]) -> JSONValue? {
        bytes.withUnsafeBufferPointer { buffer in
            var parser = Parser(bytes: buffer)
            parser.skipSpace()
            guard let first = parser.peek, first == UInt8(ascii: "{") || first == UInt8(ascii: "["),
                  let value = parser.value(depth: 0) else { return nil }
            parser.skipSpace()
            return parser.index == buffer.count ? value : nil
        }
    }

    /// The member `key` of an object (the last one when it is given twice).
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    /// Reads `bytes`, which live as long as it does (every read is checked against their count).
    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        /// The members of the objects being read, innermost last, and the items of the arrays: each container's
        /// are copied out once, at its end, into an array of their exact count, instead of each growing its own.
        var members: [(key: String, value: JSONValue)] = []
        var items: [JSONValue] = []

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func value(depth: Int) -> JSONValue? {
            guard depth < JSONValue.maxDepth, let byte = peek else { return nil }
            switch byte {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string().map(JSONValue.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return number()
            }
        }

        private mutating func object(depth: Int) -> JSONValue? {
            index += 1
            skipSpace()
            if peek == UInt8(ascii: "}") {
                index += 1
                return .object([])
            }
            // On a failure the scratch is left as it is: nothing is read after one.
            let base = members.count
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\""), let key = string() else { return nil }
                skipSpace()
                guard peek == UInt8(ascii: ":") else { return nil }
                index += 1
                skipSpace()
                guard let item = value(depth: depth + 1) else { return nil }
                members.append((key, item))
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"):
                    index += 1
                    let object = Array(members[base...])
                    members.removeLast(members.count - base)
                    return .object(object)
                default: return nil
                }
            }
        }

        private mutating func array(depth: Int) -> JSONValue? {
            index += 1
            skipSpace()
            if peek == UInt8(ascii: "]") {
                index += 1
                return .array([])
            }
            let base = items.count
            while true {
                skipSpace()
                guard let item = value(depth: depth + 1) else { return nil }
                items.append(item)
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"):
                    index += 1
                    let array = Array(items[base...])
                    items.removeLast(items.count - base)
                    return .array(array)
                default: return nil
                }
            }
        }

        private mutating func literal(_ word: StaticString, _ result: JSONValue) -> JSONValue? {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return nil }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return nil }
            index += count
            return result
        }

        private mutating func number() -> JSONValue? {
            let start = index
            if peek == UInt8(ascii: "-") { index += 1 }
            if peek == UInt8(ascii: "0") {
                index += 1
            } else {
                guard digits() else { return nil }
            }
            if peek == UInt8(ascii: ".") {
                index += 1
                guard digits() else { return nil }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                index += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                guard digits() else { return nil }
            }
            guard index > start else { return nil }
            return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
        }

        /// One or more decimal digits.
        private mutating func digits() -> Bool {
            let start = index
            while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
            return index > start
        }

        /// A string, from its opening quote to past its closing one.
        private mutating func string() -> String? {
            index += 1
            // Most strings hold no escape: read them in one piece, and most are ASCII, which needs no validating.
            var end = index
            var union: UInt8 = 0
            while end < bytes.count {
                let byte = bytes[end]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                union |= byte
                end += 1
            }
            if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
                let run = UnsafeBufferPointer(rebasing: bytes[index..<end])
                index = end + 1
                return union < 0x80 ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self)
            }
            var utf8 = Array(bytes[index..<end])
            index = end
            while let byte = peek {
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(validating: utf8, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = escape() else { return nil }
                    utf8 += escaped
                case 0..<0x20:
                    return nil
                default:
                    utf8.append(byte)
                }
            }
            return nil
        }

        /// The UTF-8 bytes of the escape after a backslash.
        private mutating func escape() -> [UInt8]? {
            guard let byte = peek else { return nil }
            index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return [byte]
            case UInt8(ascii: "b"): return [0x08]
            case UInt8(ascii: "f"): return [0x0C]
            case UInt8(ascii: "n"): return [0x0A]
            case UInt8(ascii: "r"): return [0x0D]
            case UInt8(ascii: "t"): return [0x09]
            case UInt8(ascii: "u"):
                guard let unit = hex4() else { return nil }
                var scalar: Unicode.Scalar?
                switch unit {
                case 0xD800..<0xDC00:
                    guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                    else { return nil }
                    index += 2
                    guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                    scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                case 0xDC00..<0xE000:
                    return nil
                default:
                    scalar = Unicode.Scalar(unit)
                }
                return scalar.map { Array(String($0).utf8) }
            default:
                return nil
            }
        }

        private mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                guard let digit = Self.hexDigit(byte) else { return nil }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }

        private static func hexDigit(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
    }
}
