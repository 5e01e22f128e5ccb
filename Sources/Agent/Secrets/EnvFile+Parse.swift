import Shared

extension EnvFile {
    /// Parses env-file text as systemd's `EnvironmentFile=` does, for the forms it documents: blank lines and
    /// `#`/`;` comments; `KEY=value` (surrounding blanks dropped, `\x` is `x`), `KEY='value'` (literal) and
    /// `KEY="value"` (`\"`, `\\`, `` \` ``, `\$` unescaped; any other backslash kept). A value may not span
    /// lines. A line that is none of these is refused by its number, never shown.
    ///
    /// - Throws: ``Problem`` naming `path` and the line.
    static func parse(_ bytes: [UInt8], path: String) throws(Problem) -> [(key: String, value: String)] {
        var variables: [(key: String, value: String)] = []
        for (index, rawBytes) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .enumerated() {
            let lineBytes = rawBytes.last == UInt8(ascii: "\r") ? rawBytes.dropLast() : rawBytes
            let text = String(decoding: lineBytes, as: UTF8.self)
            let line = text.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.first == "#" || line.first == ";" { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw Problem(description: "\(path):\(index + 1): expected KEY=value")
            }
            let key = String(line[..<equals]).trimmingBlanks()
            guard EnvKey.isIdentifier(key) else {
                throw Problem(description: "\(path):\(index + 1): the key is not a variable name")
            }
            guard let value = value(Substring(line[line.index(after: equals)...])) else {
                throw Problem(description: "\(path):\(index + 1): \(key): unterminated quote or text after the "
                    + "closing quote (a value is one line)")
            }
            variables.removeAll { $0.key == key }
            variables.append((key, value))
        }
        return variables
    }

    /// One value, or nil when its quoting is broken.
    private static func value(_ text: Substring) -> String? {
        let rest = text.drop { $0 == " " || $0 == "\t" }
        var result = ""
        var iterator = rest.makeIterator()
        switch rest.first {
        case "\"":
            _ = iterator.next()
            while let character = iterator.next() {
                if character == "\"" { return onlyBlanks(&iterator) ? result : nil }
                if character == "\\" {
                    guard let next = iterator.next() else { return nil }
                    if !"\"\\`$".contains(next) { result.append("\\") }
                    result.append(next)
                } else {
                    result.append(character)
                }
            }
            return nil
        case "'":
            _ = iterator.next()
            while let character = iterator.next() {
                if character == "'" { return onlyBlanks(&iterator) ? result : nil }
                result.append(character)
            }
            return nil
        default:
            while let character = iterator.next() {
                if character == "\\" {
                    if let next = iterator.next() { result.append(next) }
                } else {
                    result.append(character)
                }
            }
            return result.trimmingBlanks()
        }
    }

    private static func onlyBlanks(_ iterator: inout Substring.Iterator) -> Bool {
        while let character = iterator.next() {
            if character != " " && character != "\t" { return false }
        }
        return true
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingBlanks() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
