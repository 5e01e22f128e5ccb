import Shared

/// The one check of a path a client names inside an app's data dirs (`restore --path`, `logs PATH`): a
/// ``RelativePath`` (relative to the work tree, nothing to normalize), and inside a data dir. Symbolic links are the caller's second check
/// (``FileSystem/symlinkOnTheWay(root:relative:includingLast:)``), and its reads and writes go through
/// ``DirectoryHandle``, which never follows one.
enum DataPath {
    /// Why a path (or, for `logs`, a service) was refused; `description` is the whole message, `code` the
    /// result's error code: `invalid_path` for a path that is not a ``RelativePath`` (a usage error, exit 64, as
    /// `restore --path` gives), `unknown_service` for a service agent.yml does not name, `refused` (exit 1) for
    /// a plain path outside the data dirs or one a link, a missing file or a directory stops.
    struct Refusal: Error, CustomStringConvertible {
        var description: String
        var code: ErrorCode = .refused
    }

    /// `path` if it is a ``RelativePath`` inside a data dir, or a refusal that begins "refusing to `verb` "path"".
    ///
    /// - Throws: ``Refusal`` for a path ``RelativePath`` refuses (absolute, `..`, `.`, empty, `a//b`, a trailing
    ///   `/`, NUL, too long), or one outside every data dir.
    static func normalize(_ path: String, dataDirs: [String], verb: String) throws(Refusal) -> String {
        let normalized = try relative(path, verb: verb)
        guard dataDirs.contains(where: { AppConfig.contains($0, normalized) }) else {
            throw Refusal(description: "refusing to \(verb) \(InvalidInput.quoted(path)): it is not inside a data dir "
                + "(\(dataDirs.joined(separator: ", ")))")
        }
        return normalized
    }

    /// `path` if it is a ``RelativePath`` (also a glob, matched only against the data dirs' files).
    ///
    /// - Throws: ``Refusal``.
    static func relative(_ path: String, verb: String) throws(Refusal) -> String {
        if let problem = RelativePath.problem(path) {
            throw Refusal(description: "refusing to \(verb) \(InvalidInput.quoted(path)): \(problem); give a plain "
                + "path relative to the work tree", code: .invalidPath)
        }
        return path
    }
}
