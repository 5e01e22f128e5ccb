/// Control characters in text that crosses between controller and agent: C0 (U+0000–U+001F), DEL (U+007F) and
/// C1 (U+0080–U+009F). A terminal obeys them (ESC and the 8-bit CSI start escape sequences that erase lines, set
/// the window title or hide text), so the agent refuses them in what a client sends, and the controller shows
/// them as inert text in what an agent sends.
public enum ControlCharacters {
    /// Whether `scalar` is a C0 control, DEL or a C1 control.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// The first control character in `text`, if any.
    ///
    /// Scans the UTF-8 bytes, not the scalars: every request string passes here, and a shipped bundle's chunks are
    /// hundreds of kilobytes each. In UTF-8, C0 and DEL are the bytes below 0x20 and 0x7F (no byte of a longer
    /// sequence is below 0x80), and C1 is 0xC2 followed by 0x80–0x9F.
    public static func first(in text: String) -> Unicode.Scalar? {
        var text = text
        return text.withUTF8 { bytes -> Unicode.Scalar? in
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte < 0x20 || byte == 0x7F { return Unicode.Scalar(byte) }
                if byte == 0xC2, index + 1 < bytes.count, (0x80...0x9F).contains(bytes[index + 1]) {
                    return Unicode.Scalar(bytes[index + 1])
                }
                index += 1
            }
            return nil
        }
    }

    /// `U+001B`, for messages that name a character without containing it.
    public static func name(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// `text` made inert for a terminal and for a GitHub Actions log, for showing a string an agent sent:
    ///
    /// - every control character is written as Swift writes it in a literal, `\u{1b}` (line breaks too, so the
    ///   text stays on the line it was put on);
    /// - a workflow command cannot start: `::` at the start (after blanks: the runner trims them) becomes
    ///   `\u{3a}:`, and `##[` (the runner's older syntax, taken anywhere in a line) becomes `##\u{5b}`.
    ///
    /// Text with none of these comes back unchanged, and escaping twice changes nothing more.
    public static func escaped(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        let start = scalars.prefix { $0.properties.isWhitespace && !isControl($0) }.count
        var result = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            let startsCommand = index == start && scalar == ":" && scalars.dropFirst(index + 1).first == ":"
            let oldCommand = scalar == "[" && index >= 2 && scalars[index - 2] == "#" && scalars[index - 1] == "#"
            if isControl(scalar) || startsCommand || oldCommand {
                result.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }
}
