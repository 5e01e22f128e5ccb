import Foundation

/// The git steps of a deploy. Commits and refs come from the network, so they are validated and always
/// passed after `--` or in positions where git cannot take them for options.
extension Git {
    /// Whether `text` can be a commit id: 4 to 64 hex digits.
    static func isCommitID(_ text: String) -> Bool {
        (4...64).contains(text.count) && text.allSatisfy(\.isHexDigit)
    }

    /// Whether `ref` is a safe branch or tag name: no leading `-`, valid per `git check-ref-format`.
    func isValidRef(_ ref: String) -> Bool {
        guard !ref.isEmpty, !ref.hasPrefix("-"), ref.count <= 255 else { return false }
        return (try? run(["check-ref-format", "--allow-onelevel", ref])) != nil
    }

    /// Fetches the configured branch into `refs/remotes/<remote>/<branch>`.
    ///
    /// - Throws: ``GitError`` with what git said (network, auth, missing branch).
    func fetchBranch(remote: String, branch: String, timeout: Double) throws {
        try run(["fetch", "--quiet", "--prune", "--no-tags", "--", remote,
                 "+refs/heads/\(branch):refs/remotes/\(remote)/\(branch)"], timeout: timeout)
    }

    /// Fetches `ref` (branch or tag) and returns the commit it points to.
    ///
    /// - Throws: ``GitError``.
    func fetchRef(remote: String, ref: String, timeout: Double) throws -> String {
        try run(["fetch", "--quiet", "--no-tags", "--", remote, ref], timeout: timeout)
        return try commit(of: "FETCH_HEAD")
    }

    /// The full commit id `revision` names, if it names a commit that is present.
    func commitIfPresent(_ revision: String) -> String? {
        try? commit(of: revision)
    }

    /// The full commit id `revision` names.
    ///
    /// - Throws: ``GitError`` when it names no commit here.
    func commit(of revision: String) throws -> String {
        try run(["rev-parse", "--verify", "--quiet", "--end-of-options", "\(revision)^{commit}"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Fetches one commit by id (servers allow it for reachable commits with protocol v2).
    ///
    /// - Throws: ``GitError``.
    func fetchCommit(remote: String, commit: String, timeout: Double) throws {
        try run(["fetch", "--quiet", "--no-tags", "--", remote, commit], timeout: timeout)
    }

    /// Paths tracked by `commit` (or by the index when nil) under `paths`.
    ///
    /// - Throws: ``GitError``.
    func trackedPaths(in commit: String?, under paths: [String]) throws -> [String] {
        guard !paths.isEmpty else { return [] }
        let output = if let commit {
            try run(["ls-tree", "-r", "--name-only", "-z", commit, "--"] + paths)
        } else {
            try run(["ls-files", "-z", "--"] + paths)
        }
        return output.split(separator: "\0").map(String.init)
    }

    /// Parents of the data dirs that `commit` tracks as a file or a symbolic link rather than a directory. git
    /// would replace such a directory, and every untracked file below it — the data — with that file or link,
    /// and a link would then lead the data dir somewhere else entirely. ``trackedPaths(in:under:)`` cannot see
    /// these: they are not under a data dir but above one.
    ///
    /// - Throws: ``GitError``.
    func trackedNonDirectories(in commit: String, above dataDirs: [String]) throws -> [String] {
        var parents: Set<String> = []
        for dir in dataDirs {
            let parts = dir.split(separator: "/")
            for count in parts.indices.dropLast() { parents.insert(parts[...count].joined(separator: "/")) }
        }
        var found: [String] = []
        for parent in parents.sorted() {
            // "<mode> <type> <object>\t<path>" for the entry at exactly this path, if the commit has one.
            for entry in try run(["ls-tree", "-z", commit, "--", parent]).split(separator: "\0") {
                let fields = entry.split(separator: "\t", maxSplits: 1)
                guard fields.count == 2, fields[1] == parent else { continue }
                if fields[0].split(separator: " ").dropFirst().first != "tree" { found.append(parent) }
            }
        }
        return found
    }

    /// Puts the tracked files at `commit` and removes untracked, unignored files — never ignored ones
    /// (no `-x`), and never anything under `protected` (a second guard for the data dirs).
    ///
    /// - Throws: ``GitError``.
    func checkout(_ commit: String, protecting protected: [String], timeout: Double) throws {
        try run(["reset", "--quiet", "--hard", commit], timeout: timeout)
        try run(["clean", "--quiet", "-f", "-d"] + protected.flatMap { ["-e", "/" + $0] }, timeout: timeout)
    }

    /// Whether `commit` is `descendant` or one of its ancestors (`git merge-base --is-ancestor`); false when
    /// either is unknown.
    func isAncestor(_ commit: String, of descendant: String) -> Bool {
        (try? run(["merge-base", "--is-ancestor", commit, descendant])) != nil
    }
}
