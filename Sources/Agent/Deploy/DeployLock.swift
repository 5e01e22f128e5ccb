import Foundation
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// The per-app deploy lock: an `flock` on `<state>/lock`, whose content names the holder.
///
/// The kernel releases an `flock` when its holder dies, so "the file names a deploy but nobody holds the
/// lock" means the worker died mid-deploy: the lock is stale, and recovery owes the app a consistency check.
enum DeployLock {
    /// Who holds the lock of the app whose state dir is `state`, or who held it last and died.
    /// Nil when the lock is free and clean.
    static func inspect(_ state: StateDirectory) -> LockHolder? {
        let fd = open(state.lockFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard var holder = readHolder(fd) else { return nil }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            holder.alive = false
        } else {
            holder.alive = true
        }
        return holder
    }

    private struct Record: Codable {
        var deploy: String
        var controller: String?
        var commit: String?
        var startedAt: Date
        var pid: Int32
    }

    private static func readHolder(_ fd: Int32) -> LockHolder? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let count = pread(fd, &buffer, buffer.count, off_t(bytes.count))
            guard count > 0 else { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        guard !bytes.isEmpty else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let record = try? decoder.decode(Record.self, from: Data(bytes)) else { return nil }
        return LockHolder(deploy: record.deploy, controller: record.controller, commit: record.commit,
                          startedAt: record.startedAt, pid: record.pid, alive: true)
    }
}
