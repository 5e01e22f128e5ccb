import Foundation

/// `deploy --push`: pushes the current branch's HEAD and returns the exact commit pushed, so the deploy that
/// follows names that commit — never whatever the branch on the remote points to by the time the VM fetches.
struct GitPush {
    /// The remote to push to; nil means the branch's upstream remote, else `origin`.
    var remote: String?
    /// Push HEAD even though tracked files have uncommitted changes.
    var allowDirty: Bool

    /// What is pushed (once ``push(_:)`` succeeded: what was pushed).
    struct Pushed {
        var commit: String
        var branch: String
        var remote: String
        var remoteRef: String

        /// The branch on the remote that the push moves: what the VM's agent fetches if it is the app's branch.
        var remoteBranch: String { remoteRef.replacingOccurrences(of: "refs/heads/", with: "") }
    }

    /// Checks the work tree, pushes, and reports what was pushed.
    ///
    /// - Throws: ``ControllerError`` with kind `.local`: not a repository, detached HEAD, a dirty tree, or a
    ///   failed push. Nothing on the VM has been touched when it throws.
    func run() throws(ControllerError) -> Pushed {
        let plan = try prepare()
        try push(plan)
        return plan
    }

    /// Checks the work tree and settles what would be pushed where, pushing nothing: the checks that need the
    /// VM (``PushGuard``) run between this and ``push(_:)``.
    ///
    /// - Throws: ``ControllerError`` with kind `.local`: not a repository, detached HEAD, a dirty tree.
    func prepare() throws(ControllerError) -> Pushed {
        guard (try? git(["rev-parse", "--is-inside-work-tree"])) == "true" else {
            throw ControllerError(.local, "--push needs a git work tree: run it inside your app's clone")
        }
        guard let branch = try? git(["symbolic-ref", "--quiet", "--short", "HEAD"]), !branch.isEmpty else {
            throw ControllerError(.local, "HEAD is detached, so there is no branch to push: check out a branch, "
                + "or deploy an exact commit with --commit")
        }
        // Staged or not, against HEAD; untracked files are not pushed, so they do not count.
        let changed = try git(["diff", "--name-only", "HEAD", "--"]).split(separator: "\n").map(String.init)
        if !changed.isEmpty && !allowDirty {
            let sample = changed.prefix(3).joined(separator: ", ") + (changed.count > 3 ? ", …" : "")
            throw ControllerError(.local, "\(changed.count) tracked file(s) have uncommitted changes (\(sample)); "
                + "commit or stash them, or pass --allow-dirty to push and deploy HEAD as committed")
        }
        let commit = try git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
        let upstreamRemote = try? git(["config", "--get", "branch.\(branch).remote"])
        let remote = remote ?? upstreamRemote.flatMap { $0.isEmpty || $0 == "." ? nil : $0 } ?? "origin"
        guard !remote.hasPrefix("-") else {
            throw ControllerError(.local, "the remote name \"\(remote)\" looks like an option; name a git remote")
        }
        // The upstream's branch when pushing to the upstream remote (a local `fix` tracking `origin/main`
        // pushes to main, as `git push` does by default), else the branch of the same name.
        let merge = remote == upstreamRemote ? try? git(["config", "--get", "branch.\(branch).merge"]) : nil
        let remoteRef = merge.flatMap { $0.hasPrefix("refs/heads/") ? $0 : nil } ?? "refs/heads/\(branch)"
        return Pushed(commit: commit, branch: branch, remote: remote, remoteRef: remoteRef)
    }

    /// Pushes what ``prepare()`` settled.
    ///
    /// - Throws: ``ControllerError`` with kind `.local` when git push fails.
    func push(_ plan: Pushed) throws(ControllerError) {
        // The commit id, not HEAD, on the left: what is pushed is exactly what is deployed even if HEAD moves.
        let status = try LocalProcess.run(["git", "push", "--", plan.remote, "\(plan.commit):\(plan.remoteRef)"],
                                          captureOutput: false).status
        guard status == 0 else {
            throw ControllerError(.local, "git push \(plan.remote) \(plan.commit.prefix(12)):\(plan.remoteRef) failed "
                + "(exit \(status)); see git's message above, then pull or fix and push again — nothing was deployed")
        }
    }

    /// Runs a git query and returns its trimmed stdout.
    private func git(_ arguments: [String]) throws(ControllerError) -> String {
        let outcome = try LocalProcess.run(["git"] + arguments, captureOutput: true)
        guard outcome.status == 0 else {
            throw ControllerError(.local, "git \(arguments.first ?? "") failed with exit \(outcome.status)")
        }
        return outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
