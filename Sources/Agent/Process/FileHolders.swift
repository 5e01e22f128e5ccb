import Platform

/// Which running processes have a file open, from `/proc/PID/fd`.
///
/// Only processes whose `fd` directory this process may read are seen: its own user's (or all, as root). A
/// process of another user holding the file is not found; callers say so where it matters.
enum FileHolders {
    /// A process holding one of the files.
    struct Holder: Equatable {
        var pid: Int32
        /// Its program's name, as `ps -o comm` shows it.
        var command: String
    }

    /// The processes other than this one that have any of `paths` open: the same inode (through any name), or
    /// the file that was at one of the paths and has since been deleted.
    static func holders(of paths: [String]) -> [Holder] {
        var inodes = Set<[UInt64]>()
        for path in paths {
            if let identity = FileIdentity(path: path) { inodes.insert([identity.device, identity.inode]) }
        }
        let deleted = Set(paths.map { $0 + " (deleted)" })
        guard let names = try? FileSystem.names(in: "/proc") else { return [] }
        var found: [Holder] = []
        for name in names {
            guard let pid = Int32(name), pid != getpid() else { continue }
            guard holds(pid, inodes: inodes, deleted: deleted) else { continue }
            found.append(Holder(pid: pid, command: command(of: pid)))
        }
        return found.sorted { $0.pid < $1.pid }
    }

    /// Whether one of the open files of `pid` is one of `inodes`, or a deleted file named in `deleted`.
    private static func holds(_ pid: Int32, inodes: Set<[UInt64]>, deleted: Set<String>) -> Bool {
        let dir = "/proc/\(pid)/fd"
        guard let fds = try? FileSystem.names(in: dir) else { return false }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        return fds.contains { fd in
            var info = stat()
            if stat(dir + "/" + fd, &info) == 0, inodes.contains([UInt64(info.st_dev), UInt64(info.st_ino)]) {
                return true
            }
            let length = readlink(dir + "/" + fd, &buffer, buffer.count - 1)
            guard length > 0 else { return false }
            return deleted.contains(String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    /// The name of `pid`'s program (`/proc/PID/comm`), for a message. Not its command line: arguments can hold
    /// secrets (`--api-key=…`), and the message ends up in CI logs.
    private static func command(of pid: Int32) -> String {
        let name = FileSystem.read("/proc/\(pid)/comm").map { String(decoding: $0, as: UTF8.self) } ?? ""
        return name.trimming(while: \.isWhitespace)
    }
}
