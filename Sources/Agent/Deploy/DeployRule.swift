import Shared

/// Which commits a deploy may put live. A deploy key (or whoever holds a leaked one) names a ref or a commit;
/// the rule keeps it to code that someone with push rights put on a branch or tag — never a pull request's head
/// or a fork's commit, which a git host creates for anyone and serves by id from the same repository:
///
/// - `--ref` names a branch or a tag: `refs/heads/…`, `refs/tags/…`, or a bare name meaning the branch of that
///   name, else the tag. Any other ref (`HEAD`, `refs/pull/…`, `refs/changes/…`, `refs/remotes/…`) is refused
///   before anything is fetched.
/// - `--commit` (and the branch's tip) must be reachable from the configured branch as just fetched, or from a
///   ref that `allow_refs` names.
/// - With `require_signed`, the commit must also carry a git SSH signature by a key in that allowed-signers file.
/// - A commit shipped over the session (`deploy --ship`) needs no ref at all — it may exist nowhere but on the
///   controller — so it is refused unless agent.yml sets `ship: true` for the app; `require_signed` applies.
/// - The commit that is live, and the one `rollback` goes back to (the last one live before it that differed; the
///   agent recorded it), are always deployable: they were on the VM already, so deploying them
///   again runs no code that a deploy key chose.
///
/// Any path that puts a commit live (fetched, or shipped over the session) calls ``check(_:source:)``.
struct DeployRule {
    let app: AppConfig
    let git: Git
    /// The commit checked out now (nil when there is none).
    let live: String?
    /// The app's state dir, whose last-deploy record names the commit live before.
    let state: StateDirectory

    /// How the target commit was found.
    enum Source: Equatable {
        /// The tip of this branch or tag (a full ref name), as just fetched.
        case ref(String)
        /// A commit id, or the configured branch's tip: it must be reachable from the branch or an allowed ref
        /// (``fetch(timeout:)`` first).
        case commit
        /// A commit from a bundle sent over the session: allowed only with `ship: true`.
        case shipped
    }

    /// Why `app` takes no shipped code, or nil when agent.yml allows it: checked before a bundle is received,
    /// and again by the worker (agent.yml may have changed in between).
    static func shipRefusal(_ app: AppConfig) -> DeployFailure? {
        guard !app.ship.allowed else { return nil }
        return .refused(.shipNotAllowed, "app \(app.name) does not take code shipped over the session: a shipped "
            + "commit need not be on any git host, so agent.yml must allow it with `ship: true` under the app (and "
            + "`require_signed:` to take only signed commits); or deploy without --ship")
    }

    /// The full refs a `--ref` value may mean, in the order they are tried; nil when it names no branch or tag.
    static func candidates(for ref: String) -> [String]? {
        if ref.hasPrefix("refs/") {
            let isBranchOrTag = ref.hasPrefix("refs/heads/") || ref.hasPrefix("refs/tags/")
            return isBranchOrTag && ref.split(separator: "/").count > 2 ? [ref] : nil
        }
        // `HEAD` (and FETCH_HEAD, ORIG_HEAD…) name whatever the remote or this clone points them at.
        guard !(ref.hasSuffix("HEAD") && ref.allSatisfy({ $0.isUppercase || $0 == "_" })) else { return nil }
        return ["refs/heads/" + ref, "refs/tags/" + ref]
    }

    /// Whether `commit` (a full id) is the live one or the one `rollback` goes to (the last commit live before it
    /// that differed, ``DeployRecord/rollbackTarget``), as recorded in the state dir: those need neither a
    /// reachable ref nor a signature, nor a fetch.
    func wasLive(_ commit: String) -> Bool {
        if commit == live { return true }
        return state.lastDeploy()?.rollbackTarget == commit
    }

    /// Fetches the configured branch and the refs `allow_refs` names: what ``check(_:source:)`` consults for
    /// ``Source/commit``.
    ///
    /// - Throws: ``GitError`` when the fetch fails.
    func fetch(timeout: Double) throws {
        try git.fetchBranch(remote: app.remote, branch: app.branch, allowing: app.allowRefs, timeout: timeout)
    }

    /// Checks that `commit` (a full id, present here) may be deployed.
    ///
    /// - Throws: ``DeployFailure`` refusing with `unreachable` (no branch or allowed ref reaches it) or
    ///   `unsigned` (no signature by an allowed key), saying what to do.
    func check(_ commit: String, source: Source) throws {
        if wasLive(commit) { return }
        if source == .shipped, let refusal = Self.shipRefusal(app) { throw refusal }
        if source == .commit {
            let branch = "refs/remotes/\(app.remote)/\(app.branch)"
            let reaching = try git.refs(containing: commit, under: [branch, Git.allowedNamespace])
            let allowed = reaching.contains(branch) || reaching.contains { ref in
                guard ref.hasPrefix(Git.allowedNamespace) else { return false }
                let name = "refs/" + ref.dropFirst(Git.allowedNamespace.count)
                return app.allowRefs.contains { Self.matches(name, pattern: $0) }
            }
            guard allowed else {
                let also = app.allowRefs.isEmpty ? "" : " or from \(app.allowRefs.joined(separator: ", "))"
                throw DeployFailure.refused(.unreachable, "commit \(commit.prefix(12)) is not reachable from "
                    + "\(app.remote)/\(app.branch)\(also), so this agent does not deploy it: push it to \(app.branch), "
                    + "deploy a branch or tag with --ref, or list its ref under allow_refs in agent.yml")
            }
        }
        if let signers = app.requireSigned {
            do {
                try git.verifySignature(of: commit, allowedSigners: signers)
            } catch let error as GitError {
                throw DeployFailure.refused(.unsigned, "commit \(commit.prefix(12)) has no valid signature by a key "
                    + "in \(signers) (require_signed; git: \(error.message)); sign it with an allowed key "
                    + "(git commit -S, gpg.format=ssh)")
            }
        }
    }

    /// Whether the full ref `name` matches `pattern`: equal, or with its one `*` standing for any text (`/`
    /// included, as in a git refspec).
    static func matches(_ name: String, pattern: String) -> Bool {
        guard let star = pattern.firstIndex(of: "*") else { return name == pattern }
        let prefix = pattern[..<star], suffix = pattern[pattern.index(after: star)...]
        return name.count >= prefix.count + suffix.count && name.hasPrefix(prefix) && name.hasSuffix(suffix)
    }
}
