import Platform
import Shared

/// The first deploy of an app whose work tree does not exist yet: it is created from agent.yml's `remote_url`.
///
/// The tree is made as `git init` plus a remote, not with `git clone`: the deploy's own fetch (only the
/// configured branch and the refs `allow_refs` names, see ``DeployRule``) then brings the commits, and the
/// checkout puts the requested commit in place, exactly as on every later deploy. A clone would fetch every
/// branch and tag and check out the remote's default branch first, code that nobody asked to put on the VM.
extension Git {
    /// What is at an app's `path` when it can be the start of a first deploy.
    enum FirstDeploy: Equatable {
        /// Nothing: the directory is created.
        case absent
        /// An empty directory.
        case empty
        /// A repository that an earlier first deploy began (`.git` only, no commit checked out): its fetch or
        /// its checkout failed. It is used as it is.
        case begun
    }

    /// Whether `path` can take a first deploy, and how; nil when it holds anything else (a checkout, files).
    static func firstDeploy(at path: String) -> FirstDeploy? {
        let found: stat?
        do {
            found = try FileSystem.lstatIfExists(path)
        } catch {
            return nil
        }
        guard let info = found else { return .absent }
        guard (info.st_mode & S_IFMT) == S_IFDIR,
              let names = try? FileSystem.names(in: path) else { return nil }
        if names.isEmpty { return .empty }
        guard names == [".git"], let git = try? FileSystem.lstatIfExists(path + "/.git"),
              (git.st_mode & S_IFMT) == S_IFDIR else { return nil }
        let tree = Git(tree: path)
        // This repository's own top level (not a parent's), with no commit checked out.
        guard let top = try? tree.run(["rev-parse", "--show-toplevel"]).trimming(while: \.isNewline),
              top == FileSystem.realPath(path),
              tree.commitIfPresent("HEAD") == nil else { return nil }
        return .begun
    }

    /// Creates the repository at ``tree`` (and the directory, with its parents, when absent): `git init` with
    /// `branch` as its branch, and `remote` pointing at `url` (already checked by ``RemoteURL``; passed after
    /// `--` all the same), or no remote when `url` is nil (a first deploy shipped over the session). Nothing is
    /// fetched yet.
    ///
    /// - Throws: ``GitError`` with what git said, or ``FileSystemError`` when the directory cannot be made.
    func initialize(remote: String, url: String?, branch: String) throws {
        try FileSystem.makeDirectories(tree, mode: 0o755)
        try run(["init", "--quiet", "--initial-branch=\(branch)"])
        guard let url else { return }
        if (try? run(["remote", "get-url", "--", remote])) != nil {
            try run(["remote", "set-url", "--", remote, url])
        } else {
            try run(["remote", "add", "--", remote, url])
        }
    }
}
