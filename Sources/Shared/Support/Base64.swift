/// Standard base64 (RFC 4648 §4, `+` and `/`, padded with `=`), as `Data.base64EncodedString()` wrote it and
/// `Data(base64Encoded:)` read it, with the standard library alone.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Each byte's value in the alphabet, 0xFF for bytes outside it.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// `bytes` in base64, padded, on one line.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        let count = (input.count + 2) / 3 * 4
        let output = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            alphabet.withUnsafeBufferPointer { table in
                input.withUnsafeBufferPointer { source in
                    var index = 0, at = 0
                    while index + 3 <= source.count {
                        let group = UInt32(source[index]) << 16 | UInt32(source[index + 1]) << 8
                            | UInt32(source[index + 2])
                        out[at] = table[Int(group >> 18 & 63)]
                        out[at + 1] = table[Int(group >> 12 & 63)]
                        out[at + 2] = table[Int(group >> 6 & 63)]
                        out[at + 3] = table[Int(group & 63)]
                        index += 3
                        at += 4
                    }
                    let rest = source.count - index
                    if rest > 0 {
                        let group = UInt32(source[index]) << 16 | (rest == 2 ? UInt32(source[index + 1]) << 8 : 0)
                        out[at] = table[Int(group >> 18 & 63)]
                        out[at + 1] = table[Int(group >> 12 & 63)]
                        out[at + 2] = rest == 2 ? table[Int(group >> 6 & 63)] : UInt8(ascii: "=")
                        out[at + 3] = UInt8(ascii: "=")
                    }
                }
            }
            initialized = count
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes `text` encodes, or nil when it is not padded base64: a length that is not a multiple of 4, a
    /// character outside the alphabet (whitespace included), or `=` anywhere but as the last one or two.
    /// Unused low bits of the last character are ignored, as `Data(base64Encoded:)` ignored them.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { input -> [UInt8]? in
            guard input.count % 4 == 0 else { return nil }
            guard !input.isEmpty else { return [] }
            var padding = 0
            if input[input.count - 1] == UInt8(ascii: "=") { padding += 1 }
            if padding == 1, input[input.count - 2] == UInt8(ascii: "=") { padding += 1 }
            let count = input.count / 4 * 3 - padding
            var valid = true
            let output = values.withUnsafeBufferPointer { table in
                [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
                    var index = 0, at = 0
                    while index < input.count {
                        let last = index + 4 == input.count
                        let used = last ? 4 - padding : 4
                        var group: UInt32 = 0
                        var bad: UInt8 = 0
                        for offset in 0..<4 {
                            let value = offset < used ? table[Int(input[index + offset])] : 0
                            bad |= value
                            group = group << 6 | UInt32(value & 63)
                        }
                        guard bad & 0x80 == 0 else {
                            valid = false
                            break
                        }
                        out[at] = UInt8(group >> 16 & 0xFF)
                        if used > 2 { out[at + 1] = UInt8(group >> 8 & 0xFF) }
                        if used > 3 { out[at + 2] = UInt8(group & 0xFF) }
                        at += used - 1
                        index += 4
                    }
                    initialized = valid ? count : 0
                }
            }
            return valid ? output : nil
        }
    }
}
