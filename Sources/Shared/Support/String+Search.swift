/// Substring search for the agent's targets, written on the standard library's core so that they do not pull in
/// `_StringProcessing` (the home of `contains(_: String)`, `firstRange(of:)`, `replacing(_:with:)` and
/// `trimmingPrefix(_:)`), which links `_RegexParser` with it: about 1 MB of the static agent for a few searches.
/// `scripts/check-agent-size.sh` fails when either module is linked into the agent again.
///
/// The names differ from `_StringProcessing`'s so that a call cannot silently resolve to those. Searching is by
/// Unicode scalars, as `String`'s own comparison of ASCII text; every caller searches for ASCII words or for
/// secrets it masks, where a scalar match is what is wanted.
extension StringProtocol {
    /// Whether `needle` occurs in the text (always true for an empty `needle`).
    public func includes(_ needle: some StringProtocol) -> Bool {
        rangeOf(needle) != nil
    }

    /// The range of the first occurrence of `needle`, or nil.
    public func rangeOf(_ needle: some StringProtocol) -> Range<Index>? {
        let target = Array(needle.unicodeScalars)
        let scalars = unicodeScalars
        guard let first = target.first else { return startIndex..<startIndex }
        var start = scalars.startIndex
        while let found = scalars[start...].firstIndex(of: first) {
            var here = found
            var matched = 0
            while matched < target.count, here < scalars.endIndex, scalars[here] == target[matched] {
                here = scalars.index(after: here)
                matched += 1
            }
            if matched == target.count { return found..<here }
            start = scalars.index(after: found)
        }
        return nil
    }

    /// The text with every occurrence of `needle` (non-empty) replaced by `replacement`, left to right without
    /// overlaps. Works on Unicode scalars throughout, so a match inside a grapheme cluster is replaced too.
    public func replacingAll(_ needle: some StringProtocol, with replacement: String) -> String {
        guard !needle.isEmpty else { return String(self) }
        var result = String.UnicodeScalarView()
        let scalars = unicodeScalars
        var start = scalars.startIndex
        while let range = self[start...].rangeOf(needle) {
            result.append(contentsOf: scalars[start..<range.lowerBound])
            result.append(contentsOf: replacement.unicodeScalars)
            start = range.upperBound
        }
        result.append(contentsOf: scalars[start...])
        return String(result)
    }

    /// The text without `prefix` when it starts with it (once), as `trimmingPrefix(_:)` did.
    public func droppingPrefix(_ prefix: some StringProtocol) -> SubSequence {
        hasPrefix(prefix) ? self[index(startIndex, offsetBy: prefix.count)...] : self[...]
    }
}
