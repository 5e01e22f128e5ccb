/// The path arithmetic shipkeep needs on `/`-separated paths, with NSString's rules: trailing slashes do not
/// count, the parent of `name` is empty and the parent of `/name` is `/`.
public enum PathName {
    /// The path without its last component (`/a/b` → `/a`, `b` → ``, `/b` → `/`).
    public static func parent(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(Substring(path))
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        return String(withoutTrailingSlashes(trimmed[..<slash]))
    }

    /// The last component of the path (`/a/b/` → `b`, `/` → `/`).
    public static func lastComponent(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(Substring(path))
        guard let slash = trimmed.lastIndex(of: "/"), trimmed.count > 1 else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// A plain relative path (no empty component: not `a//b`, `/a` or `a/`) cut at its last `/`: (`a/b`, `c`) for
    /// `a/b/c`, (``, `c`) for `c`. Nil for any other spelling, which ``parent(of:)`` and ``lastComponent(of:)``
    /// take apart by their rules. One pass over the bytes: manifests hold thousands of such paths.
    public static func directoryAndName(_ path: String) -> (directory: Substring, name: Substring)? {
        let bytes = path.utf8
        let slash = UInt8(ascii: "/")
        var last: String.Index?
        var previous: UInt8 = slash
        for index in bytes.indices {
            let byte = bytes[index]
            if byte == slash {
                if previous == slash { return nil }  // a leading `/` or `//`
                last = index
            }
            previous = byte
        }
        guard previous != slash else { return nil }  // empty, or a trailing `/`
        guard let last else { return (path[path.startIndex..<path.startIndex], path[...]) }
        return (path[..<last], path[path.index(after: last)...])
    }

    private static func withoutTrailingSlashes(_ path: Substring) -> Substring {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return path
    }
}
