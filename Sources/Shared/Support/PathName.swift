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

    private static func withoutTrailingSlashes(_ path: Substring) -> Substring {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return path
    }
}
