import CAgentSupport
import Foundation
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// The per-app deploy lock: an exclusive `flock` on `<state>/lock`, whose content names the holder.
///
/// The kernel drops an `flock` when its holder dies, so "the file names a deploy but nobody holds the lock"
/// means the worker died mid-deploy: the lock is stale and the app is owed a recovery. `inspect` reads
/// `/proc/locks` instead of probing with `flock`, so a status probe can never make a deploy's `LOCK_NB`
/// attempt fail.
enum DeployLock {
    /// What the lock file records about its holder.
    struct Record: Codable {
        var deploy: String
        var controller: String?
        var commit: String?
        var startedAt: Date
        var pid: Int32
    }

    /// The lock is held by a live deploy.
    struct Busy: Error {
        var holder: LockHolder
    }

    /// A held lock. Released explicitly, or by the kernel when the process dies.
    final class Held {
        private let fd: Int32
        /// The previous holder's record, when it died without releasing (recovery is owed).
        let stale: LockHolder?

        fileprivate init(fd: Int32, stale: LockHolder?) {
            self.fd = fd
            self.stale = stale
        }

        /// Replaces the holder record (e.g. once the target commit is known).
        func record(_ record: Record) throws {
            let bytes = StateDirectory.encode(record)
            guard ftruncate(fd, 0) == 0 else { throw FileSystemError("truncate", "lock") }
            let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            guard written == bytes.count, fsync(fd) == 0 else { throw FileSystemError("write", "lock") }
        }

        /// Clears the record and releases the lock.
        func release() {
            _ = ftruncate(fd, 0)
            fsync(fd)
            flock(fd, LOCK_UN)
            close(fd)
        }
    }

    /// How often a waiting deploy tries the lock again.
    static let retryInterval = 0.2

    /// Takes the lock, waiting up to `wait` seconds for a live holder to release it.
    ///
    /// - Parameter onWait: called when the wait begins and whenever the holder changes, with the holder.
    /// - Throws: ``Busy`` naming the live holder, or ``FileSystemError`` when the state dir is unusable.
    static func acquire(_ state: StateDirectory, record: Record, wait: Double = 0,
                        onWait: (LockHolder) -> Void = { _ in }) throws -> Held {
        try FileSystem.makeDirectories(state.path)
        let fd = try FileSystem.open(state.lockFile, O_RDWR | O_CREAT, 0o600)
        let deadline = Date().addingTimeInterval(wait)
        var announced: String?
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let holder = readHolder(fd).map { LockHolder(record: $0, alive: true) }
                ?? LockHolder(deploy: "unknown", controller: nil, commit: nil, startedAt: Date(), pid: 0, alive: true)
            guard deadline.timeIntervalSinceNow > 0 else {
                close(fd)
                throw Busy(holder: holder)
            }
            // Polled rather than a blocking flock: the wait stays bounded, and no queue order is promised.
            if announced != holder.deploy {
                announced = holder.deploy
                onWait(holder)
            }
            Thread.sleep(forTimeInterval: min(retryInterval, max(0.01, deadline.timeIntervalSinceNow)))
        }
        let stale = readHolder(fd).map { LockHolder(record: $0, alive: false) }
        let held = Held(fd: fd, stale: stale)
        do {
            try held.record(record)
        } catch {
            held.release()
            throw error
        }
        return held
    }

    /// Who holds the lock, or who held it last and died; nil when it is free and clean.
    static func inspect(_ state: StateDirectory) -> LockHolder? {
        let fd = open(state.lockFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let record = readHolder(fd) else { return nil }
        return LockHolder(record: record, alive: isHeld(fd))
    }

    private static func isHeld(_ fd: Int32) -> Bool {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        let dev = UInt64(info.st_dev)
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff))
        let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
        let holder = shipkeep_flock_holder(major, minor, UInt64(info.st_ino))
        if holder >= 0 { return holder != 0 }
        // No /proc/locks: probe with a shared lock, released at once.
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }

    private static func readHolder(_ fd: Int32) -> Record? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let count = pread(fd, &buffer, buffer.count, off_t(bytes.count))
            guard count > 0 else { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        guard !bytes.isEmpty else { return nil }
        return try? StateDirectory.decoder.decode(Record.self, from: Data(bytes))
    }
}

extension LockHolder {
    init(record: DeployLock.Record, alive: Bool) {
        self.init(deploy: record.deploy, controller: record.controller, commit: record.commit,
                  startedAt: record.startedAt, pid: record.pid, alive: alive)
    }
}
