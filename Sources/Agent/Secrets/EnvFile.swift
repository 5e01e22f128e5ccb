import Shared
import Platform

/// An app's secrets on the VM (`env_file`, default `STATE/env`): one `KEY="value"` line per variable, in the
/// syntax systemd's `EnvironmentFile=` and a POSIX shell's `.` both read the same way (inside double quotes only
/// `\"`, `\\`, `` \` `` and `\$` are escapes), so a unit and a command service see the same values.
///
/// The file must be a regular file of the agent's user, mode 0600, outside the work tree; anything else is refused
/// with the command that fixes it. Nothing here ever puts a value into an error, a log line or an event.
struct EnvFile {
    /// The file.
    let path: String
    /// The app's work tree, which the file must not lie in.
    let workTree: String
    /// The writers' lock, in the state dir (the env file's own dir may be one the agent only writes files in).
    let lockPath: String

    /// The env file of `app`.
    init(app: AppConfig) {
        path = app.secretsFile
        workTree = app.path
        lockPath = app.state + "/env.lock"
    }

    /// Another secrets file held to the same rules (restic's password and env files): `lockPath` is where its
    /// writers would lock, which the agent never does for these.
    init(path: String, workTree: String, lockPath: String) {
        self.path = path
        self.workTree = workTree
        self.lockPath = lockPath
    }

    /// The file's bytes after the same checks as ``load()``, or nil when it does not exist.
    ///
    /// - Throws: ``Problem``.
    func contents() throws(Problem) -> [UInt8]? {
        try readChecked()
    }

    /// The biggest env file read.
    static let sizeLimit = 1 << 20

    /// A problem with the file, naming the path (and a line number or key), never a value.
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// The variables, in file order (a key given twice keeps its last value, as systemd does). A missing file
    /// is no secrets.
    ///
    /// - Throws: ``Problem`` when the file is unsafe or cannot be parsed.
    func load() throws(Problem) -> [(key: String, value: String)] {
        guard let bytes = try readChecked() else { return [] }
        return try Self.parse(bytes, path: path)
    }

    /// The variables as an environment.
    ///
    /// - Throws: ``Problem``.
    func environment() throws(Problem) -> [String: String] {
        Dictionary(try load().map { ($0.key, $0.value) }) { $1 }
    }

    /// Refuses a file another user could read or write, a link, or one inside the work tree.
    ///
    /// - Throws: ``Problem``.
    func check() throws(Problem) {
        _ = try readChecked()
    }

    /// Replaces the file with `variables` (atomically: temp file 0600, fsync, rename, fsync of the directory).
    /// The caller holds ``lock()``.
    ///
    /// - Throws: ``Problem``.
    func write(_ variables: [(key: String, value: String)]) throws(Problem) {
        try refuseInsideWorkTree()
        var text = "# The app's secrets, written by shipkeep-agent (`shipkeep env`); systemd reads it with\n"
            + "# EnvironmentFile=. Edit with `shipkeep env … set KEY` or by hand, mode 0600.\n"
        for (key, value) in variables { text += "\(key)=\(Self.quote(value))\n" }
        let directory = PathName.parent(of: path)
        do {
            try FileSystem.makeDirectories(directory)
            try FileSystem.writeAtomically(Array(text.utf8), to: path, mode: 0o600)
        } catch {
            throw Problem(description: "cannot write \(path): \(error)")
        }
        // writeAtomically reuses a leftover temp file's mode; the file itself is what must be private.
        chmod(path, 0o600)
    }

    /// Takes the env file's lock (`flock` on `STATE/env.lock`), so two writers never lose each other's change.
    /// Held until the returned descriptor is closed.
    ///
    /// - Throws: ``Problem``.
    func lock() throws(Problem) -> Int32 {
        do {
            try FileSystem.makeDirectories(PathName.parent(of: lockPath))
            let fd = try FileSystem.open(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600)
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    close(fd)
                    throw FileSystemError("flock", lockPath)
                }
            }
            return fd
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(description: "cannot lock \(lockPath): \(error)")
        }
    }

    /// `value` double-quoted, with `"`, `\`, `` ` `` and `$` escaped.
    static func quote(_ value: String) -> String {
        var quoted = "\""
        for character in value {
            if "\"\\`$".contains(character) { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }

    // MARK: - Reading

    private func refuseInsideWorkTree() throws(Problem) {
        if AppConfig.contains(workTree, path) {
            throw Problem(description: "refusing to use \(path): it lies inside the work tree \(workTree), where git "
                + "and the app could read or commit it; set env_file: in agent.yml to a path outside it")
        }
    }

    /// The file's bytes after the safety checks, or nil when it does not exist.
    private func readChecked() throws(Problem) -> [UInt8]? {
        let fd = Platform.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            let reason = errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno))
            throw Problem(description: "refusing to use \(path): \(reason); make it a regular file of the agent's user")
        }
        defer { close(fd) }
        try refuseInsideWorkTree()
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw Problem(description: "refusing to use \(path): it is not a regular file; remove it")
        }
        if info.st_uid != geteuid() {
            throw Problem(description: "refusing to use \(path): it is owned by uid \(info.st_uid), not by the agent's "
                + "user (uid \(geteuid())); run: chown \(geteuid()) \(path)")
        }
        if info.st_mode & 0o077 != 0 {
            throw Problem(description: "refusing to use \(path): group or others can read or write it (mode "
                + "\(String(info.st_mode & 0o7777, radix: 8))); run: chmod 600 \(path)")
        }
        guard info.st_size <= Self.sizeLimit else {
            throw Problem(description: "refusing to use \(path): it is larger than \(Self.sizeLimit) bytes")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Platform.read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw Problem(description: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
            guard bytes.count <= Self.sizeLimit else {
                throw Problem(description: "refusing to use \(path): it is larger than \(Self.sizeLimit) bytes")
            }
        }
        return bytes
    }
}
