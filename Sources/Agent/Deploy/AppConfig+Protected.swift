import Shared

extension AppConfig {
    /// What a checkout must keep off whenever the code is reset to a commit (update, rollback, recovery after
    /// a killed worker): the data dirs, and the state and snapshot dirs when agent.yml puts them inside the work
    /// tree, where they are untracked files like any other. Relative to `path`.
    var protectedPaths: [String] {
        data + [state, snapshots.dir].compactMap { dir in
            dir.hasPrefix(path + "/") ? String(dir.dropFirst(path.count + 1)) : nil
        }
    }
}
