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
            .trimmingCharacters(in: .whitespacesAndNewlines)
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
}
