import CAgentSupport
import Platform
import Shared

/// A failed file operation, with the path and the system's reason.
struct FileSystemError: Error, CustomStringConvertible {
    var operation: String
    var path: String
    var code: Int32

    init(_ operation: String, _ path: String, _ code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// True when the filesystem is full (or the quota is).
    var isNoSpace: Bool { code == ENOSPC || code == EDQUOT }

    /// True when ``path`` is a symbolic link that the operation refused to follow.
    var isSymbolicLink: Bool { code == ELOOP }

    var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// Thin, checked wrappers over the system calls the snapshot and verify code uses.
enum FileSystem {
    /// `lstat`, or nil when the path does not exist.
    ///
    /// - Throws: ``FileSystemError`` for any failure other than a missing path.
    static func lstatIfExists(_ path: String) throws -> stat? {
        var info = stat()
        if lstat(path, &info) == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw FileSystemError("lstat", path)
    }

    /// `path` with every symbolic link resolved (`realpath(3)`), or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = Platform.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Modification time in nanoseconds since the epoch.
    static func mtime(_ info: stat) -> Int64 {
        Int64(info.modificationTime.tv_sec) * 1_000_000_000 + Int64(info.modificationTime.tv_nsec)
    }

    /// Status change time in nanoseconds since the epoch.
    static func ctime(_ info: stat) -> Int64 {
        Int64(info.statusChangeTime.tv_sec) * 1_000_000_000 + Int64(info.statusChangeTime.tv_nsec)
    }

    /// Opens a file, retrying on EINTR.
    ///
    /// - Throws: ``FileSystemError``.
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o600) throws -> Int32 {
        while true {
            let fd = Platform.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw FileSystemError("open", path) }
        }
    }

    /// Copies `length` bytes from the start of `source` to the start of `destination`, in the kernel where
    /// possible (`copy_file_range`, which reflinks on filesystems that can), else through a bounded buffer.
    /// Returns the bytes copied, which is less than `length` only if the source is shorter.
    ///
    /// - Throws: ``FileSystemError`` (check ``FileSystemError/isNoSpace`` for a full disk).
    @discardableResult
    static func copy(from source: Int32, to destination: Int32, length: Int64, path: String,
                     sourceOffset: Int64 = 0, destinationOffset: Int64 = 0) throws -> Int64 {
        var inOffset = sourceOffset
        var outOffset = destinationOffset
        var kernelCopy = true
        while inOffset - sourceOffset < length {
            let want = Int(min(length - (inOffset - sourceOffset), 1 << 30))
            if kernelCopy {
                let copied = shipkeep_copy_file_range(source, &inOffset, destination, &outOffset, want)
                if copied > 0 { continue }
                if copied == 0 { break }
                if errno == EINTR { continue }
                if [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP, EBADF].contains(errno) {
                    kernelCopy = false
                    continue
                }
                throw FileSystemError("copy", path)
            }
            var buffer = [UInt8](repeating: 0, count: min(want, 1 << 18))
            let count = buffer.withUnsafeMutableBytes { pread(source, $0.baseAddress, $0.count, off_t(inOffset)) }
            if count < 0 { if errno == EINTR { continue }; throw FileSystemError("read", path) }
            if count == 0 { break }
            var written = 0
            while written < count {
                let result = buffer.withUnsafeBytes {
                    pwrite(destination, $0.baseAddress! + written, count - written, off_t(outOffset) + off_t(written))
                }
                if result < 0 { if errno == EINTR { continue }; throw FileSystemError("write", path) }
                written += result
            }
            inOffset += Int64(count)
            outOffset += Int64(count)
        }
        return inOffset - sourceOffset
    }

    /// Copies the first `length` bytes of the open file `fd` to a new file `prefix-<random hex>` in `directory`
    /// (created `O_EXCL | O_NOFOLLOW`: never an existing file, never through a link), fsynced, and returns its
    /// name: the content a repair is about to replace, kept so that nothing is lost.
    ///
    /// - Throws: ``FileSystemError``; a partial copy is removed.
    static func preserve(_ fd: Int32, length: Int64, in directory: DirectoryHandle,
                         as prefix: String) throws -> String {
        let (name, keep) = try directory.createUnique(prefix, mode: 0o600)
        defer { close(keep) }
        do {
            try copy(from: fd, to: keep, length: length, path: directory.path + "/" + name)
            guard fsync(keep) == 0 else { throw FileSystemError("fsync", directory.path + "/" + name) }
        } catch {
            directory.remove(name)
            throw error
        }
        directory.sync()
        return name
    }

    /// Sets a file's modification (and access) time, in nanoseconds.
    static func setMtime(_ fd: Int32, _ nanoseconds: Int64) {
        let time = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var times = [time, time]
        futimens(fd, &times)
    }

    /// Writes `data` to `path` so that a crash leaves either the old file or the new one: temp file, fsync,
    /// rename, fsync of the directory.
    ///
    /// - Throws: ``FileSystemError``.
    static func writeAtomically(_ data: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let temp = path + ".tmp-\(getpid())"
        let fd = try open(temp, O_WRONLY | O_CREAT | O_TRUNC, mode)
        do {
            var offset = 0
            while offset < data.count {
                let written = data.withUnsafeBytes { write(fd, $0.baseAddress! + offset, data.count - offset) }
                if written < 0 { if errno == EINTR { continue }; throw FileSystemError("write", temp) }
                offset += written
            }
            guard fsync(fd) == 0 else { throw FileSystemError("fsync", temp) }
            close(fd)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        guard rename(temp, path) == 0 else {
            let failure = FileSystemError("rename", path)
            unlink(temp)
            throw failure
        }
        syncDirectory(of: path)
    }

    /// fsyncs the directory holding `path`, so a rename or a new entry survives a crash.
    static func syncDirectory(of path: String) {
        let dir = PathName.parent(of: path)
        let fd = Platform.open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Creates `path` and its parents with `mode` (0700 for everything the agent keeps).
    ///
    /// - Throws: ``FileSystemError``.
    static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            if mkdir(built, mode) != 0 && errno != EEXIST { throw FileSystemError("mkdir", built) }
        }
    }

    /// Removes a tree without following symbolic links.
    static func removeTree(_ path: String) {
        guard let info = try? lstatIfExists(path) else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            chmod(path, 0o700)
            if let names = try? Self.names(in: path) {
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// The first existing component of `root/relative` (below `root`) that is a symbolic link, or nil. Paths
    /// in data dirs go through this before the agent writes to them, so that a link planted there is refused
    /// with its name; the writes themselves go through ``DirectoryHandle``, which never follows one.
    ///
    /// - Parameter includingLast: whether the last component counts (false when it is itself a link to keep).
    /// - Throws: ``FileSystemError`` when a component cannot be examined.
    static func symlinkOnTheWay(root: String, relative: String, includingLast: Bool = true) throws -> String? {
        try DirectoryHandle.firstSymbolicLink(root: root, relative: relative, includingLast: includingLast)
    }

    /// Reads a whole small file (journals, manifests, records, `/proc` files, whose size `stat` reports as 0),
    /// or nil if it does not exist or cannot be read (a directory).
    static func read(_ path: String) -> [UInt8]? {
        guard let fd = try? open(path, O_RDONLY) else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size > 0 { bytes.reserveCapacity(Int(info.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Platform.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// The names in the directory at `path` (following a link to it), `.` and `..` aside, in no particular order.
    ///
    /// - Throws: ``FileSystemError`` when it cannot be opened (absent, not a directory, not readable).
    static func names(in path: String) throws -> [String] {
        guard let stream = opendir(path) else { throw FileSystemError("opendir", path) }
        defer { closedir(stream) }
        return names(of: stream)
    }

    /// The names `stream` (an open directory stream) lists from where it is, `.` and `..` aside.
    static func names(of stream: OpaquePointer) -> [String] {
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether something exists at `path`, following links (`stat`): a dangling link does not count.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Where the symbolic link at `path` points (`readlink(2)`), or nil when it is not a link.
    static func symbolicLinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length >= 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// When the file at `path` (not followed if a link) was last modified, in seconds since the epoch with the
    /// nanoseconds as the fraction, or nil when it cannot be examined.
    static func modificationSeconds(_ path: String) -> Double? {
        guard let info = try? lstatIfExists(path) else { return nil }
        return Double(info.modificationTime.tv_sec) + Double(info.modificationTime.tv_nsec) / 1e9
    }

    /// This process's working directory (`getcwd(3)`), or "" when it cannot be read (removed under it).
    static func currentDirectory() -> String {
        guard let path = getcwd(nil, 0) else { return "" }
        defer { free(path) }
        return String(cString: path)
    }
}
