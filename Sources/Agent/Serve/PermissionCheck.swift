import Shared
import Platform

/// Refuses to run from files another user could have changed, as sshd's StrictModes does.
///
/// `agent.yml` decides which commands run (hooks, services) and where the agent writes; a state dir decides
/// what the agent believes about a deploy in progress (lock, journal, plan) and a snapshot dir what it
/// restores. If another user can write any of them, that user can make the agent run or overwrite what they
/// like with the agent's rights. So each must belong to the agent's user (`agent.yml` and its directory may
/// also belong to root) and must not be writable by group or others; a directory writable by others is
/// accepted only with the sticky bit (e.g. `/tmp`), where others cannot replace what they do not own.
enum PermissionCheck {
    /// Why a file or directory cannot be trusted, with the command that fixes it.
    struct Unsafe: Error, CustomStringConvertible {
        var path: String
        var problem: String
        var fix: String
        var description: String { "refusing to use \(path): \(problem); \(fix)" }
    }

    /// Checks `agent.yml`, its directory, and every app's state and snapshot dirs (those that exist yet;
    /// the agent creates missing ones 0700) with the lock, journals and records inside.
    ///
    /// - Throws: ``Unsafe`` for the first path that fails.
    static func check(_ config: AgentConfig, user: uid_t = geteuid()) throws(Unsafe) {
        let file = config.file
        try check(file, owners: [user, 0], user: user)
        let parent = PathName.parent(of: file)
        try check(parent.isEmpty ? "." : parent, owners: [user, 0], user: user, stickyIsEnough: true)
        for app in config.apps {
            let state = StateDirectory(path: app.state)
            for path in [state.path, state.deploysDir, state.lockFile, state.turnFile, state.lastDeployFile,
                         app.snapshots.dir] {
                try check(path, owners: [user], user: user)
            }
        }
    }

    /// Checks a file the agent reads a deploy from (the request `serve` hands its worker), open as `fd`: it
    /// must be a regular file of the agent's user that neither group nor others can read or write (0600).
    ///
    /// - Throws: ``Unsafe``.
    static func checkPrivate(fd: Int32, path: String, user: uid_t = geteuid()) throws(Unsafe) {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw Unsafe(path: path, problem: "cannot stat it (\(String(cString: strerror(errno))))",
                         fix: "check that the agent's user can reach it")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw Unsafe(path: path, problem: "it is not a regular file", fix: "remove it")
        }
        try judge(info, path: path, owners: [user], user: user, stickyIsEnough: false)
        if info.st_mode & 0o077 != 0 {
            let mode = String(info.st_mode & 0o7777, radix: 8)
            throw Unsafe(path: path, problem: "group or others can read it (mode \(mode))",
                         fix: "run: chmod 600 \(path)")
        }
    }

    /// Checks one path (following symbolic links, so the file actually read is judged); a missing path passes.
    private static func check(_ path: String, owners: [uid_t], user: uid_t, stickyIsEnough: Bool = false)
        throws(Unsafe) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw Unsafe(path: path, problem: "cannot stat it (\(String(cString: strerror(errno))))",
                         fix: "check that the agent's user can reach it")
        }
        try judge(info, path: path, owners: owners, user: user, stickyIsEnough: stickyIsEnough)
    }

    /// The owner and write-permission rule, for what `stat` said about `path`.
    private static func judge(_ info: stat, path: String, owners: [uid_t], user: uid_t, stickyIsEnough: Bool)
        throws(Unsafe) {
        let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        if !owners.contains(info.st_uid) {
            let agent = "the agent's user \(name(of: user)) (uid \(user))"
            let who = owners.count > 1 ? agent + " or root" : agent
            throw Unsafe(path: path, problem: "it is owned by uid \(info.st_uid), not by \(who)",
                         fix: "run: chown \(isDirectory ? "-R " : "")\(name(of: user)) \(path)")
        }
        let writableByOthers = info.st_mode & (S_IWGRP | S_IWOTH) != 0
        if writableByOthers && !(stickyIsEnough && isDirectory && info.st_mode & S_ISVTX != 0) {
            let mode = String(info.st_mode & 0o7777, radix: 8)
            throw Unsafe(path: path, problem: "it is writable by group or others (mode \(mode))",
                         fix: "run: chmod go-w \(path)")
        }
    }

    private static func name(of user: uid_t) -> String {
        guard let account = getpwuid(user) else { return String(user) }
        return String(cString: account.pointee.pw_name)
    }
}
