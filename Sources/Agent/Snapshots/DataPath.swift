import Shared

/// The one check of a path a client names inside an app's data dirs (`restore --path`, `logs PATH`): relative to
/// the work tree, without `..`, and inside a data dir. Symbolic links are the caller's second check
/// (``FileSystem/symlinkOnTheWay(root:relative:includingLast:)``), and its reads and writes go through
/// ``DirectoryHandle``, which never follows one.
enum DataPath {
    /// Why a path was refused; `description` is the whole message.
    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    /// `path` normalized (`./a//b/` → `a/b`), or a refusal that begins "refusing to `verb` "path"".
    ///
    /// - Throws: ``Refusal`` for an absolute path, one with `..`, an empty one, or one outside every data dir.
    static func normalize(_ path: String, dataDirs: [String], verb: String) throws(Refusal) -> String {
        let normalized = try relative(path, verb: verb)
        guard dataDirs.contains(where: { AppConfig.contains($0, normalized) }) else {
            throw Refusal(description: "refusing to \(verb) \"\(path)\": it is not inside a data dir "
                + "(\(dataDirs.joined(separator: ", ")))")
        }
        return normalized
    }

    /// `path` normalized if it is relative and has no `..` (a glob, matched only against the data dirs' files).
    ///
    /// - Throws: ``Refusal``.
    static func relative(_ path: String, verb: String) throws(Refusal) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !path.hasPrefix("/"), !parts.isEmpty, !parts.contains("..") else {
            throw Refusal(description: "refusing to \(verb) \"\(path)\": give a path relative to the work tree, "
                + "without \"..\"")
        }
        return parts.joined(separator: "/")
    }
}
