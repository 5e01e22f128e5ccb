import Platform
import Shared

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

    /// Where the refs `allow_refs` names are fetched to: `refs/tags/v1` is kept as
    /// `refs/shipkeep/allowed/tags/v1`, apart from every ref a fetch or a person makes.
    static let allowedNamespace = "refs/shipkeep/allowed/"

    /// Fetches the configured branch into `refs/remotes/<remote>/<branch>` and, in the same fetch, every ref
    /// matching `allowed` (patterns with at most one `*`) into ``allowedNamespace``, pruning those the remote no
    /// longer has. A pattern without `*` is fetched as `PATTERN*` (a missing ref must not fail the fetch);
    /// ``DeployRule`` counts only the refs that match the pattern itself.
    ///
    /// - Throws: ``GitError`` with what git said (network, auth, missing branch).
    func fetchBranch(remote: String, branch: String, allowing allowed: [String] = [], timeout: Double) throws {
        let extra = allowed.map { pattern in
            let glob = pattern.contains("*") ? pattern : pattern + "*"
            return "+\(glob):\(Self.allowedNamespace)\(glob.dropFirst("refs/".count))"
        }
        try run(["fetch", "--quiet", "--prune", "--no-tags", "--", remote,
                 "+refs/heads/\(branch):refs/remotes/\(remote)/\(branch)"] + extra, timeout: timeout)
    }

    /// The refs under `prefixes` (each a full ref or a prefix ending in `/`) from which `commit` is reachable.
    ///
    /// - Throws: ``GitError``.
    func refs(containing commit: String, under prefixes: [String]) throws -> [String] {
        try run(["for-each-ref", "--format=%(refname)", "--contains", commit, "--"] + prefixes)
            .split(separator: "\n").map(String.init)
    }

    /// Checks that `commit` carries a git SSH signature by a key listed in `allowedSigners` (ssh-keygen's
    /// ALLOWED SIGNERS format).
    ///
    /// - Throws: ``GitError`` with git's last line ("No principal matched.", "no signature found").
    func verifySignature(of commit: String, allowedSigners: String) throws {
        try run(["-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile=\(allowedSigners)", "verify-commit", commit])
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
            .trimming(while: \.isWhitespace)
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

    /// What a checkout did besides moving the code: files it kept from being overwritten or dropped.
    struct CheckoutReport {
        /// Untracked (or ignored) files where `commit` tracks a path: copied into the save dir before the reset.
        var displaced: [String] = []
        /// Paths inside the protected dirs that the index tracked: no longer tracked, left on disk untouched.
        var untrackedData: [String] = []
    }

    /// Puts the tracked files of `commit` in place with `git reset --hard` — and destroys nothing else:
    /// - no `git clean`: untracked files (`.env`, `.venv/`, pid files, models) stay where they are;
    /// - an untracked or ignored file at a path `commit` tracks (which the reset would overwrite) is copied into
    ///   `saveDir` first;
    /// - paths under `protected` that the index tracks (a data dir's `.gitkeep` from the old recipe's days) are
    ///   untracked first, so the reset leaves them on disk; those `commit` itself tracks (only a rollback or a
    ///   recovery goes to such a commit) get their live content back after the reset.
    ///
    /// - Throws: ``GitError``, or ``FileSystemError`` when a file cannot be saved (nothing was reset then).
    @discardableResult
    func checkout(_ commit: String, protecting protected: [String], saveDir: String?, timeout: Double) throws
        -> CheckoutReport {
        var report = CheckoutReport()
        report.untrackedData = try trackedPaths(in: nil, under: protected)
        if !report.untrackedData.isEmpty {
            try run(["rm", "-r", "-q", "--cached", "-f", "--ignore-unmatch", "--"] + protected, timeout: timeout)
        }
        let excluded = protected.map { ":(exclude,top)" + $0 }
        let untracked = try run(["ls-files", "-z", "--others", "--", ":/"] + excluded, timeout: timeout)
            .split(separator: "\0").map(String.init)
        let incoming = Set(try run(["ls-tree", "-r", "-z", "--name-only", commit], timeout: timeout)
            .split(separator: "\0").map(String.init))
        report.displaced = untracked.filter { path in
            incoming.contains(path) || Self.parents(of: path).contains { incoming.contains($0) }
        }
        if !report.displaced.isEmpty, let saveDir {
            for path in report.displaced { try Self.save(tree + "/" + path, to: saveDir + "/" + path) }
        }
        // A data path the target tracks: its live file is set aside and put back over what the reset wrote.
        let kept = try trackedPaths(in: commit, under: protected).filter {
            (try? FileSystem.lstatIfExists(tree + "/" + $0)) != nil
        }
        let aside = kept.map { tree + "/" + $0 + ".shipkeep-checkout-\(getpid())" }
        for (path, temp) in zip(kept, aside) where rename(tree + "/" + path, temp) != 0 {
            throw FileSystemError("rename", tree + "/" + path)
        }
        defer { for (path, temp) in zip(kept, aside) { rename(temp, tree + "/" + path) } }
        try run(["reset", "--quiet", "--hard", commit], timeout: timeout)
        return report
    }

    /// `a/b/c` → `a`, `a/b`.
    private static func parents(of path: String) -> [String] {
        let parts = path.split(separator: "/")
        return parts.indices.dropLast().map { parts[...$0].joined(separator: "/") }
    }

    /// Copies one file (or link) to `destination`, creating its parents; the original stays in place.
    private static func save(_ source: String, to destination: String) throws {
        try FileSystem.makeDirectories(PathName.parent(of: destination))
        guard let info = try FileSystem.lstatIfExists(source) else { return }
        if (info.st_mode & S_IFMT) == S_IFLNK {
            guard let target = FileSystem.symbolicLinkTarget(source), symlink(target, destination) == 0 else {
                throw FileSystemError("symlink", destination)
            }
            return
        }
        let input = try FileSystem.open(source, O_RDONLY | O_NOFOLLOW)
        defer { close(input) }
        let output = try FileSystem.open(destination, O_WRONLY | O_CREAT | O_EXCL, mode_t(info.st_mode & 0o777))
        defer { close(output) }
        try FileSystem.copy(from: input, to: output, length: Int64(info.st_size), path: destination)
        guard fsync(output) == 0 else { throw FileSystemError("fsync", destination) }
    }

    /// Untracked files that are not ignored, outside `protected` (a wholly untracked directory as `dir/`): what
    /// `git clean` used to delete.
    ///
    /// - Throws: ``GitError``.
    func untrackedFiles(excluding protected: [String]) throws -> [String] {
        try run(["ls-files", "-z", "--others", "--exclude-standard", "--directory", "--", ":/"]
                + protected.map { ":(exclude,top)" + $0 })
            .split(separator: "\0").map(String.init)
    }

    /// The edits of tracked files that a forced reset would discard, as a binary patch (empty when none).
    ///
    /// - Throws: ``GitError``.
    func uncommittedPatch(excluding protected: [String]) throws -> String {
        try run(["diff", "--binary", "HEAD", "--", ":/"] + protected.map { ":(exclude,top)" + $0 })
    }

    /// Whether `commit` is `descendant` or one of its ancestors (`git merge-base --is-ancestor`); false when
    /// either is unknown.
    func isAncestor(_ commit: String, of descendant: String) -> Bool {
        (try? run(["merge-base", "--is-ancestor", commit, descendant])) != nil
    }
}
