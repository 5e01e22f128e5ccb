import Shared

/// Puts an app's code at a commit: the one routine behind every reset of the work tree — the update, the
/// rollback of an unhealthy deploy (``DeployWorker``) and the recovery after a killed worker (``Recovery``) —
/// so they keep the same files off: ``AppConfig/protectedPaths``, the data dirs and the state and snapshot
/// dirs when agent.yml puts them inside the work tree. Untracked files where the commit tracks a path are
/// saved in the deploy's `saved` dir first (see ``Git/checkout(_:protecting:saveDir:timeout:)``).
struct CodeRestore {
    let app: AppConfig
    /// The deploy the reset belongs to: its `saved` dir keeps what the checkout displaced.
    let deploy: String

    /// Seconds the checkout may take.
    static let timeout = 300.0

    /// Checks out `commit`, keeping the protected paths off.
    ///
    /// - Throws: ``GitError`` or ``FileSystemError``; the code may then be anywhere between the two commits.
    func checkout(_ commit: String, git: Git) throws -> Git.CheckoutReport {
        try git.checkout(commit, protecting: app.protectedPaths,
                         saveDir: StateDirectory(path: app.state).saved(deploy), timeout: Self.timeout)
    }

    /// Brings the code back to `commit`, a commit it ran before (rollback, recovery): the checkout, then
    /// agent.yml's `after_update` hooks for that code. A hook that fails does not undo the reset: the code is
    /// the old commit's either way, and the health check that follows says whether it runs.
    ///
    /// - Throws: what ``checkout(_:git:)`` throws; the hooks do not run then.
    func restore(to commit: String, git: Git, services: Services) throws -> Git.CheckoutReport {
        let report = try checkout(commit, git: git)
        for hook in app.hooks.afterUpdate {
            _ = services.run(hook, name: "hook", timeout: Double(app.hooks.timeout), what: "after_update")
        }
        return report
    }
}
