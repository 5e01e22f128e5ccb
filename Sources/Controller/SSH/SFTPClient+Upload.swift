import CLibSSH2
import Platform

/// Whole-file transfers: atomic uploads, create-if-missing, small reads.
extension SFTPClient {
    /// Called as an upload progresses: bytes acknowledged by the server so far, and the total.
    typealias Progress = (_ done: Int64, _ total: Int64) -> Void

    /// The size of the pieces handed to libssh2, which pipelines each as several 30 kB requests.
    private static let chunkSize = 1024 * 1024

    /// Uploads a local file to `path`, replacing any file there atomically.
    ///
    /// The data goes to a temporary file in the same directory (`.NAME.shipkeep-upload-XXXXXXXX`), which gets
    /// `mode`, is fsynced and closed, then renamed over `path` (rename(2) on the server). A reader of `path`
    /// sees the old file or the complete new one, never a partial one. On any failure the temporary file is
    /// removed and `path` is untouched.
    /// - Parameters:
    ///   - localPath: A regular file on this machine.
    ///   - path: The remote destination; its directory must exist (see `makeDirectories`).
    ///   - mode: The permission bits the remote file gets, exactly.
    ///   - progress: Called after each acknowledged piece.
    /// - Throws: `SSHError` `.sftp` for a missing directory, no permission, a full disk or an unreadable
    ///   local file; `.timeout` or `.io` when the connection fails.
    func upload(localPath: String, to path: String, mode: UInt32, progress: Progress? = nil) throws(SSHError) {
        let descriptor = open(localPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SSHError(.sftp, "cannot read \(localPath): \(Socket.errorText(errno)); check the local file")
        }
        defer { Platform.close(descriptor) }
        var info = Platform.stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw SSHError(.sftp, "cannot upload \(localPath): not a regular file")
        }
        let total = Int64(info.st_size)
        var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
        try replace(path, mode: mode, total: total, progress: progress) { file, acknowledged throws(SSHError) in
            while true {
                let count = buffer.withUnsafeMutableBytes { Platform.read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count >= 0 else {
                    throw SSHError(.sftp, "reading \(localPath) failed: \(Socket.errorText(errno))")
                }
                if count == 0 { return }
                try file.write(buffer[0..<count], acknowledged: acknowledged)
            }
        }
    }

    /// Uploads `data` to `path`, replacing any file there atomically, as `upload(localPath:to:mode:progress:)`.
    /// - Throws: `SSHError` as `upload(localPath:to:mode:progress:)`.
    func upload(data: [UInt8], to path: String, mode: UInt32, progress: Progress? = nil) throws(SSHError) {
        try replace(path, mode: mode, total: Int64(data.count), progress: progress) {
            file, acknowledged throws(SSHError) in
            try Self.write(data, to: file, acknowledged: acknowledged)
        }
    }

    /// Writes `data` to `path` only if nothing exists there, for "write agent.yml unless it is already
    /// there". Written like an upload (temporary file, fsync, mode), then moved into place with a rename that
    /// fails rather than replace (OpenSSH does it with link(2)), so an existing file is never touched and a
    /// new one is never seen half-written.
    /// - Returns: true when the file was created; false when one already existed (it is left as it was).
    /// - Throws: `SSHError` as `upload(data:to:mode:progress:)`.
    @discardableResult
    func createExclusively(data: [UInt8], to path: String, mode: UInt32) throws(SSHError) -> Bool {
        if try stat(path) != nil { return false }
        let (directory, name) = try Self.split(path)
        let temporary = Self.temporaryName(directory: directory, name: name)
        do {
            try writeTemporary(temporary, mode: mode) { file throws(SSHError) in
                try Self.write(data, to: file, acknowledged: { _ in })
            }
            try rename(temporary, to: path, replacing: false)
            return true
        } catch {
            let status = lastStatus
            try? remove(temporary)
            // The rename refuses an existing destination with a generic failure; what is there decides.
            if error.code == .sftp, status == LIBSSH2_FX_FAILURE || status == LIBSSH2_FX_FILE_ALREADY_EXISTS,
                (try? stat(path)) != nil
            {
                return false
            }
            throw error
        }
    }

    /// Reads a small file whole.
    /// - Parameters:
    ///   - path: The remote file.
    ///   - limit: The most bytes accepted; a larger file is an error rather than a surprise in memory.
    /// - Returns: The contents.
    /// - Throws: `SSHError` `.sftp` when it does not exist, cannot be read or exceeds `limit`.
    func readFile(_ path: String, limit: Int) throws(SSHError) -> [UInt8] {
        let file = try SFTPFile(client: self, path: path, flags: LIBSSH2_FXF_READ, mode: 0)
        var contents: [UInt8] = []
        while true {
            let piece = try file.read(maximum: 32 * 1024)
            if piece.isEmpty { break }
            contents += piece
            guard contents.count <= limit else {
                throw SSHError(.sftp, "\(path) is larger than \(limit) bytes, more than expected for this file")
            }
        }
        try file.close()
        return contents
    }

    // MARK: - Steps

    /// Writes a temporary file next to `path` with `body`, then renames it over `path`; removes it on failure.
    private func replace(
        _ path: String,
        mode: UInt32,
        total: Int64,
        progress: Progress?,
        _ body: (SFTPFile, (Int) -> Void) throws(SSHError) -> Void
    ) throws(SSHError) {
        let (directory, name) = try Self.split(path)
        let temporary = Self.temporaryName(directory: directory, name: name)
        var done: Int64 = 0
        progress?(0, total)
        do {
            try writeTemporary(temporary, mode: mode) { file throws(SSHError) in
                try body(file) { count in
                    done += Int64(count)
                    progress?(done, max(total, done))
                }
            }
            try rename(temporary, to: path, replacing: true)
        } catch {
            try? remove(temporary)
            throw error
        }
    }

    /// Creates `temporary` (never an existing file), fills it with `body`, sets `mode`, fsyncs and closes it.
    private func writeTemporary(
        _ temporary: String,
        mode: UInt32,
        _ body: (SFTPFile) throws(SSHError) -> Void
    ) throws(SSHError) {
        let flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL | LIBSSH2_FXF_TRUNC
        // 0600 until it is complete: nobody else reads a half-written file through its permissions either.
        let file = try SFTPFile(client: self, path: temporary, flags: flags, mode: 0o600)
        try body(file)
        try file.setPermissions(mode)
        try file.sync()
        try file.close()
    }

    private static func write(_ data: [UInt8], to file: SFTPFile, acknowledged: (Int) -> Void) throws(SSHError) {
        var offset = 0
        while offset < data.count {
            let end = min(offset + chunkSize, data.count)
            try file.write(data[offset..<end], acknowledged: acknowledged)
            offset = end
        }
    }

    /// `path` split into its directory ("" for the login directory) and file name.
    private static func split(_ path: String) throws(SSHError) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let name = String(path[path.index(after: slash)...])
        guard !name.isEmpty, name != ".", name != ".." else {
            throw SSHError(.sftp, "\(path) names a directory, not a file; give the file's full path")
        }
        return (String(path[...slash]), name)
    }

    private static func temporaryName(directory: String, name: String) -> String {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return directory + "." + name + ".shipkeep-upload-" + String(repeating: "0", count: 8 - suffix.count) + suffix
    }
}
