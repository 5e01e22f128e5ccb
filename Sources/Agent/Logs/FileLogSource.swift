import Shared
import Platform

/// One file `shipkeep logs` reads: its last lines, then, followed, what is appended to it — across a rotation
/// (the name now holds a new file: the old one is read to its end, then the new one from its start) and a
/// truncation (read again from the start).
///
/// The file is always opened from `root` down through ``DirectoryHandle`` (`O_NOFOLLOW` on every component): a
/// link planted in a data dir, before or during the follow, is never read through.
final class FileLogSource {
    /// The directory the path is relative to (the work tree, or the state dir's `output`), trusted.
    let root: String
    /// The path below `root`.
    let relative: String
    /// The name events carry (`logs/bot.log`, or the service's name).
    let label: String
    /// The `stream` of its `log` events: `file` for a data file, `output` for a command service's captured output.
    let stream: String
    private var fd: Int32 = -1
    private var identity: (dev: UInt64, ino: UInt64)?
    private var offset: Int64 = 0
    private var partial: [UInt8] = []
    private var dropped = 0
    private var binary = false
    /// Said once: the name cannot be opened any more (a link now, not a regular file).
    private var gone = false

    /// The largest read at once.
    static let chunk = 256 * 1024
    /// The most bytes read backwards for the last lines of one file.
    static let maxTailScan: Int64 = 16 << 20

    init(root: String, relative: String, label: String, stream: String = "file") {
        self.root = root
        self.relative = relative
        self.label = label
        self.stream = stream
    }

    deinit { if fd >= 0 { close(fd) } }

    /// The directory to watch for writes and rotations.
    var directory: String {
        let parent = PathName.parent(of: relative)
        return parent.isEmpty ? root : root + "/" + parent
    }

    /// What a source produced: lines of text, or a note about the file (rotated, truncated, binary, …).
    enum Output {
        case line(String)
        case note(code: String, message: String)
    }

    /// Opens the file and returns its last `count` lines (only if it was modified since `since`), leaving the
    /// position at its end for ``poll()``. A missing file gives nothing (a followed one is picked up when it
    /// appears).
    func start(lines count: Int, since: Timestamp?) -> [Output] {
        var out: [Output] = []
        guard let (fd, info) = openCurrent(&out) else { return out }
        adopt(fd, info)
        let size = Int64(info.st_size)
        offset = size
        if binary {
            out.append(binaryNote(size: size))
            return out
        }
        if let since, FileSystem.mtime(info) < Int64(since.timeIntervalSince1970 * 1e9) { return out }
        guard count > 0 else { return out }
        out += tail(fd, size: size, count: count).map(Output.line)
        return out
    }

    /// What was appended since the last call, and notes for a rotation or truncation.
    func poll() -> [Output] {
        var out: [Output] = []
        if fd < 0 {
            guard let (fd, info) = openCurrent(&out) else { return out }
            adopt(fd, info)
            offset = 0
            if binary { out.append(binaryNote(size: Int64(info.st_size))) }
        }
        var info = stat()
        if fstat(fd, &info) == 0, Int64(info.st_size) < offset {
            out.append(.note(code: "truncated", message: "\(label) was truncated; reading it again from its start"))
            offset = 0
            partial.removeAll()
            dropped = 0
        }
        out += readAppended()
        // The name may hold another file now: finish the old one (what was written to it before the rename), then
        // carry on with the new one.
        var notes: [Output] = []
        if let (next, nextInfo) = openCurrent(&notes) {
            if UInt64(nextInfo.st_dev) != identity?.dev || UInt64(nextInfo.st_ino) != identity?.ino {
                out += readAppended()
                if !partial.isEmpty || dropped > 0 { out.append(.line(LogLine.render(partial, dropped: dropped))) }
                partial.removeAll()
                dropped = 0
                close(fd)
                adopt(next, nextInfo)
                offset = 0
                out.append(.note(code: "rotated", message: "\(label) was replaced (rotated); following the new file"))
                if binary { out.append(binaryNote(size: Int64(nextInfo.st_size))) }
                out += readAppended()
            } else {
                close(next)
            }
        }
        return out + notes
    }

    private func adopt(_ newFD: Int32, _ info: stat) {
        fd = newFD
        identity = (UInt64(info.st_dev), UInt64(info.st_ino))
        var head = [UInt8](repeating: 0, count: LogLine.sniffBytes)
        let count = head.withUnsafeMutableBytes { pread(newFD, $0.baseAddress, $0.count, 0) }
        binary = count > 0 && LogLine.looksBinary(Array(head[0..<count]))
    }

    private func binaryNote(size: Int64) -> Output {
        .note(code: "binary", message: "\(label) holds binary data (\(ByteCount.format(size))); not shown — "
            + "`shipkeep download` fetches it whole")
    }

    /// Opens the regular file the name holds now, never through a link; nil when there is none.
    private func openCurrent(_ out: inout [Output]) -> (Int32, stat)? {
        let opened: Int32
        do {
            let (directory, name) = try DirectoryHandle.parent(of: relative, root: root)
            opened = try directory.openFile(name, O_RDONLY | O_NONBLOCK)
        } catch let error as FileSystemError {
            if error.code != ENOENT && !gone {
                gone = true
                let why = error.isSymbolicLink ? "\(error.path) is now a symbolic link" : "\(error)"
                out.append(.note(code: "unreadable", message: "\(label) cannot be read: \(why); not followed through it"))
            }
            return nil
        } catch {
            return nil
        }
        var info = stat()
        guard fstat(opened, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(opened)
            if !gone {
                gone = true
                out.append(.note(code: "unreadable", message: "\(label) is not a regular file; not read"))
            }
            return nil
        }
        gone = false
        return (opened, info)
    }

    private func readAppended() -> [Output] {
        guard fd >= 0 else { return [] }
        var out: [Output] = []
        var buffer = [UInt8](repeating: 0, count: Self.chunk)
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            guard count > 0 else { break }
            offset += Int64(count)
            if binary { continue }
            var start = 0
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                take(buffer[start..<index])
                out.append(.line(LogLine.render(partial, dropped: dropped)))
                partial.removeAll(keepingCapacity: true)
                dropped = 0
                start = index + 1
            }
            take(buffer[start..<count])
        }
        return out
    }

    /// Keeps at most ``LogLine/maxBytes`` of a line being read; the rest is counted, not kept.
    private func take(_ bytes: ArraySlice<UInt8>) {
        let room = max(0, LogLine.maxBytes + 1 - partial.count)
        partial.append(contentsOf: bytes.prefix(room))
        dropped += max(0, bytes.count - room)
    }

    /// The last `count` lines before `size`, reading backwards at most ``maxTailScan`` bytes.
    private func tail(_ fd: Int32, size: Int64, count: Int) -> [String] {
        guard size > 0 else { return [] }
        let limit = min(size, min(Self.maxTailScan, Int64(count) * Int64(LogLine.maxBytes + 1) + 1))
        var region = [UInt8](repeating: 0, count: Int(limit))
        var filled = 0
        while filled < region.count {
            let got = region[filled...].withUnsafeMutableBytes {
                pread(fd, $0.baseAddress, $0.count, off_t(size - limit + Int64(filled)))
            }
            guard got > 0 else { break }
            filled += got
        }
        region.removeLast(region.count - filled)
        if region.last == UInt8(ascii: "\n") { region.removeLast() }
        var lines = region.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let fromStart = limit == size
        // Read from the middle of the file, the first piece is the end of a line whose start was not read: shown
        // (its last bytes, marked) only when fewer than `count` whole lines follow it.
        var cutStart: String?
        if !fromStart, let first = lines.first {
            lines.removeFirst()
            if lines.count < count { cutStart = LogLine.renderEnd(first) }
        }
        return (cutStart.map { [$0] } ?? []) + lines.suffix(count).map { LogLine.render($0) }
    }
}
