/// How a file in a data dir is kept whole. Each kind is snapshotted, verified and guarded its own way.
public enum DataKind: String, Codable, CaseIterable, Sendable {
    /// Only ever grows (JSONL, logs, CSVs appended to): its old bytes never change, so a file whose recorded
    /// prefix changed or shrank was damaged and is repaired.
    case append
    /// A SQLite database (recognised by its header): snapshotted through SQLite's online backup API, never
    /// written into while the app runs; checked with `PRAGMA quick_check`.
    case sqlite
    /// Rewritten in place or replaced by rename (state.json, a CSV rewritten): snapshotted, never "repaired"
    /// under the running app; only a file that vanished is restored.
    case mutable
}

/// Which kind each data file is: agent.yml's `kinds:` globs first, then the file's header and its name.
///
/// ```yaml
/// kinds:
///   append: ["paper_trading_outputs/trades_*.csv"]
///   mutable: ["paper_trading_outputs/state.json", "*.pkl"]
/// ```
/// A glob is matched against the path relative to the work tree; `*` and `?` stay within one component,
/// `**` spans any number of them, and a glob without a `/` matches the file's name in any directory (as in
/// `.gitignore`). A file with SQLite's header is always a database, whatever a glob says: appending to one,
/// or repairing its prefix, would corrupt it.
public struct DataKindRules: Equatable, Sendable {
    /// Globs of files that only grow.
    public var append: [String]
    /// Globs of files rewritten in place or replaced by rename.
    public var mutable: [String]

    /// Names whose ending marks an append-only file when no glob decides: JSON Lines and logs, also rotated
    /// (`bot.log.1`, `bot.log.2.gz`, `bot.log-20261201`).
    public static let appendSuffixes = [".jsonl", ".ndjson", ".log"]

    /// Rules from agent.yml.
    public init(append: [String] = [], mutable: [String] = []) {
        self.append = append
        self.mutable = mutable
    }

    /// The kind of the file at `path` (relative to the work tree), given whether its content starts with
    /// SQLite's header.
    public func kind(of path: String, isSQLite: Bool) -> DataKind {
        if isSQLite { return .sqlite }
        if mutable.contains(where: { PathGlob.matches($0, path) }) { return .mutable }
        if append.contains(where: { PathGlob.matches($0, path) }) { return .append }
        return Self.looksAppendOnly(path) ? .append : .mutable
    }

    /// Whether the name reads as a JSON Lines file or a log, rotated or not.
    public static func looksAppendOnly(_ path: String) -> Bool {
        let name = Array((path.split(separator: "/").last.map(String.init) ?? path).utf8)
        return appendSuffixes.contains { suffix in
            let wanted = Array(suffix.utf8)
            guard name.count > wanted.count else { return false }
            // `x.log`, `x.log.3`, `x.log.3.gz`, `x.log-20261201`, `x.log.2026-12-01`: the suffix, then the end
            // of the name or a rotation's `.`/`-`.
            for start in 1...(name.count - wanted.count) where Array(name[start..<(start + wanted.count)]) == wanted {
                let end = start + wanted.count
                if end == name.count || name[end] == UInt8(ascii: ".") || name[end] == UInt8(ascii: "-") { return true }
            }
            return false
        }
    }

    /// The 16 bytes every SQLite 3 database file begins with.
    public static let sqliteHeader: [UInt8] = Array("SQLite format 3".utf8) + [0]
}

/// Shell-style globs over `/`-separated relative paths, with `**` for any number of components.
public enum PathGlob {
    /// Whether `glob` matches `path`. A glob without `/` is matched against the last component only.
    public static func matches(_ glob: String, _ path: String) -> Bool {
        let pattern = glob.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard !pattern.isEmpty, !parts.isEmpty else { return false }
        if pattern.count == 1 && !glob.contains("/") { return component(pattern[0], parts[parts.count - 1]) }
        return match(pattern[...], parts[...])
    }

    /// Whether `glob` is usable: relative, no `..`, not empty.
    public static func isValid(_ glob: String) -> Bool {
        let parts = glob.split(separator: "/", omittingEmptySubsequences: true)
        return !glob.hasPrefix("/") && !parts.isEmpty && !parts.contains("..")
    }

    private static func match(_ pattern: ArraySlice<String>, _ parts: ArraySlice<String>) -> Bool {
        guard let first = pattern.first else { return parts.isEmpty }
        if first == "**" {
            let rest = pattern.dropFirst()
            for start in parts.startIndex...parts.endIndex where match(rest, parts[start...]) { return true }
            return false
        }
        guard let part = parts.first, component(first, part) else { return false }
        return match(pattern.dropFirst(), parts.dropFirst())
    }

    /// `*` (any run of characters) and `?` (one character) within one component; everything else literal.
    static func component(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) && p[pi] != "*" {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
