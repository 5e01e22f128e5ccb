import CAgentSupport
import Shared
import Platform

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
        var startedAt: Timestamp
        var pid: Int32
    }

    /// The lock is held by a live deploy.
    struct Busy: Error {
        var holder: LockHolder
    }

    /// A newer request took this one's turn while it waited: at most one deploy waits per app.
    struct Superseded: Error {
        /// The deploy that took the turn.
        var by: String
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
    /// A deploy takes it `inTurn`: every deploy that takes the lock or starts to wait for it claims the app's
    /// turn (`<state>/turn`, naming the newest claimant), and a waiting one that finds its turn taken by a newer
    /// request gives up with ``Superseded``. So at most one deploy runs and one waits, however many are asked
    /// for, and the newest request is the one that runs next. Recovery and restore take the lock without a
    /// turn: they neither replace a waiting deploy nor can be replaced.
    ///
    /// - Parameter onWait: called when the wait begins and whenever the holder changes, with the holder.
    /// - Throws: ``Busy`` naming the live holder, ``Superseded`` naming the newer request, or
    ///   ``FileSystemError`` when the state dir is unusable.
    static func acquire(_ state: StateDirectory, record: Record, wait: Double = 0, inTurn: Bool = false,
                        onWait: (LockHolder) -> Void = { _ in }) throws -> Held {
        try FileSystem.makeDirectories(state.path)
        let fd = try FileSystem.open(state.lockFile, O_RDWR | O_CREAT, 0o600)
        let turn = inTurn ? try Turn(state) : nil
        let deadline = ContinuousClock.now + .seconds(wait)
        var announced: String?
        var first = true
        while true {
            let taken: Bool
            do {
                taken = try turn?.whileHeld { () throws -> Bool in
                    // Claimed at the first attempt by a deploy that takes the lock or will wait for it (one that
                    // is refused at once replaces nobody); checked at every later attempt.
                    if !first, let newest = turn?.claimant(), newest != record.deploy {
                        throw Superseded(by: newest)
                    }
                    let locked = tryLock(fd)
                    if first && (locked || wait > 0) { try turn?.claim(record) }
                    return locked
                } ?? tryLock(fd)
            } catch {
                close(fd)
                throw error
            }
            first = false
            if taken { break }
            let holder = readHolder(fd).map { LockHolder(record: $0, alive: true) }
                ?? LockHolder(deploy: "unknown", controller: nil, commit: nil, startedAt: .now(), pid: 0, alive: true)
            guard deadline.secondsLeft > 0 else {
                close(fd)
                throw Busy(holder: holder)
            }
            // Polled rather than a blocking flock: the wait stays bounded, and a newer request can take the turn.
            if announced != holder.deploy {
                announced = holder.deploy
                onWait(holder)
            }
            Pause.seconds(min(retryInterval, max(0.01, deadline.secondsLeft)))
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

    /// One non-blocking attempt at the lock.
    private static func tryLock(_ fd: Int32) -> Bool {
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno != EINTR { return false }
        }
        return true
    }

    /// The deploy that claimed the app's turn last (the one running, or the one waiting), if any.
    static func turnClaimant(_ state: StateDirectory) -> String? {
        guard FileSystem.exists(state.turnFile), let turn = try? Turn(state) else { return nil }
        return try? turn.whileHeld { turn.claimant() }
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
        return try? StateDirectory.decode(Record.self, from: bytes)
    }
}

extension LockHolder {
    init(record: DeployLock.Record, alive: Bool) {
        self.init(deploy: record.deploy, controller: record.controller, commit: record.commit,
                  startedAt: record.startedAt, pid: record.pid, alive: alive)
    }
}

/// `<state>/turn`: the newest deploy to claim the app's turn, read and written only under its own short `flock`
/// (never held across a wait), so a claim and the check of a claim never interleave.
private final class Turn {
    private let fd: Int32

    init(_ state: StateDirectory) throws {
        fd = try FileSystem.open(state.turnFile, O_RDWR | O_CREAT, 0o600)
    }

    deinit {
        close(fd)
    }

    /// Runs `body` holding the turn file's lock.
    func whileHeld<T>(_ body: () throws -> T) throws -> T {
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw FileSystemError("flock", "turn") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Names `record`'s deploy as the newest claimant.
    func claim(_ record: DeployLock.Record) throws {
        let bytes = Array(record.deploy.utf8)
        guard ftruncate(fd, 0) == 0 else { throw FileSystemError("truncate", "turn") }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { throw FileSystemError("write", "turn") }
    }

    /// The newest claimant's deploy id.
    func claimant() -> String? {
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}
