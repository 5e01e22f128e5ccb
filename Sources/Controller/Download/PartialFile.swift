import Foundation
import Platform

/// A download's output while it is written: a new file next to the destination, which becomes the destination
/// only by ``commit()`` (fsync, rename, fsync of the directory). Until then the destination is untouched, and
/// ``discard()`` (or deinit) removes the partial file, so a failed download never leaves a half-written file
/// under the name asked for.
///
/// A download killed outright (SIGKILL, a lost machine) cannot remove its partial file. Each download holds an
/// exclusive `flock` on its own for as long as it writes, so the next download to the same destination removes
/// the partial files nobody holds, and only those.
final class PartialFile {
    /// The name asked for.
    let destination: String
    /// The file being written: `<destination>.<random>.partial`.
    let path: String
    /// Open for writing, with an exclusive `flock` held until the file is committed or discarded.
    private var fd: Int32
    private var done = false

    /// Bytes written so far.
    private(set) var bytesWritten: Int64 = 0

    /// Creates the partial file (mode 0600: a backup holds the app's data) next to `destination`.
    ///
    /// - Throws: ``ControllerError`` `.local` when the directory does not exist or cannot be written.
    init(destination: String) throws(ControllerError) {
        self.destination = destination
        Self.removeAbandoned(next: destination)
        let created = try Self.create(next: destination)
        path = created.path
        fd = created.fd
        PartialFileCleanup.arm(path)
    }

    /// Creates a new partial file for `destination` and takes its lock.
    private static func create(next destination: String) throws(ControllerError) -> (path: String, fd: Int32) {
        while true {
            let path = destination + "." + String(UInt32.random(in: 0...UInt32.max), radix: 16) + ".partial"
            let fd = Platform.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                if errno == EEXIST { continue }
                throw ControllerError(.local, "cannot create \(path): \(String(cString: strerror(errno))); "
                    + "check that the directory of \(destination) exists and is writable")
            }
            // Another download's sweep may have taken the lock between the open and this flock, and removed the
            // file; then it is no longer ours to write to, and a new one is made. Where the file system has no
            // flock, no sweep can lock (and so remove) it either.
            while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
            if isLinked(fd, at: path) { return (path, fd) }
            close(fd)
        }
    }

    /// Removes the partial files of `destination` that no download holds: left by one that was killed.
    private static func removeAbandoned(next destination: String) {
        let directory = (destination as NSString).deletingLastPathComponent
        let prefix = (destination as NSString).lastPathComponent + "."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)
        else { return }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".partial") {
            let random = name.dropFirst(prefix.count).dropLast(".partial".count)
            guard (1...8).contains(random.count), random.allSatisfy(\.isHexDigit) else { continue }
            let path = (directory.isEmpty ? "" : directory + "/") + name
            let held = Platform.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard held >= 0 else { continue }
            defer { close(held) }
            var info = stat()
            guard fstat(held, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
                flock(held, LOCK_EX | LOCK_NB) == 0, isLinked(held, at: path), unlink(path) == 0
            else { continue }
            Terminal.error("shipkeep: removed \(path) (\(info.st_size) bytes), left by a download that was killed")
        }
    }

    /// Whether `path` still names the file open as `fd`.
    private static func isLinked(_ fd: Int32, at path: String) -> Bool {
        var opened = stat()
        var named = stat()
        return fstat(fd, &opened) == 0 && lstat(path, &named) == 0
            && opened.st_dev == named.st_dev && opened.st_ino == named.st_ino
    }

    deinit {
        discard()
    }

    /// Appends `bytes`.
    ///
    /// - Throws: ``ControllerError`` `.local` (a full disk, an I/O error).
    func write(_ bytes: [UInt8]) throws(ControllerError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Platform.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("write")
            }
            offset += written
        }
        bytesWritten += Int64(bytes.count)
    }

    /// Flushes the content to disk, so that what is verified next is what stays.
    ///
    /// - Throws: ``ControllerError`` `.local`.
    func sync() throws(ControllerError) {
        guard fsync(fd) == 0 else { throw failure("fsync") }
    }

    /// Renames the (synced) file to the destination, replacing any file there, and syncs the directory.
    ///
    /// - Throws: ``ControllerError`` `.local`; the partial file is then removed.
    func commit() throws(ControllerError) {
        guard close(fd) == 0 else {
            fd = -1
            throw failure("close")
        }
        fd = -1
        guard rename(path, destination) == 0 else { throw failure("rename to \(destination)") }
        done = true
        PartialFileCleanup.disarm()
        let directory = (destination as NSString).deletingLastPathComponent
        let dirFD = Platform.open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    /// Removes the partial file. Idempotent; nothing happens after ``commit()``.
    func discard() {
        guard !done else { return }
        done = true
        if fd >= 0 { close(fd) }
        fd = -1
        unlink(path)
        PartialFileCleanup.disarm()
    }

    private func failure(_ operation: String) -> ControllerError {
        let reason = String(cString: strerror(errno))
        discard()
        return ControllerError(.local, "cannot \(operation) \(path): \(reason); nothing was written to \(destination)")
    }
}

/// Removes the partial file when the download is interrupted (Ctrl-C, a cancelled CI job's SIGTERM), so
/// an interrupted download leaves nothing behind either: done by ``Interrupts``' thread before it exits, so no
/// signal handler runs. One download per process, so one path.
private enum PartialFileCleanup {
    static func arm(_ partial: String) {
        Interrupts.beforeExit { _ = unlink(partial) }
    }

    static func disarm() {
        Interrupts.beforeExit(nil)
    }
}
