extension StringProtocol {
    /// The text without the leading and trailing characters `drop` matches, e.g. `trimming(while: \.isWhitespace)`
    /// (whitespace and newlines) or `trimming(while: \.isNewline)`.
    public func trimming(while drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
