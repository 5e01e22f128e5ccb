import Platform

/// Hard-links the files of a snapshot that are unchanged since the previous one (the same size and mtime, stored
/// whole there) on a thread of its own, while the snapshot's loop copies the rest: a data dir of thousands of
/// small files costs a `link` each, tens of microseconds apiece, which then overlap with reading and hashing a
/// large file instead of adding to it. (Two threads linking into one directory only contend for its lock.) Each
/// file is stat'ed again just before its link, as the snapshot's own loop does; the stat it was linked on is
/// what its manifest entry records.
///
/// Only the links that succeeded are reported: the snapshot takes any other file through its usual path (which
/// links or copies it, and reports what fails). Without a thread (`pthread_create` failed) ``finish()`` links
/// them on the caller's.
final class UnchangedLinks: @unchecked Sendable {
    /// A directory files are linked in: the data dir's (`source`), the previous snapshot's (`stored`) and this
    /// snapshot's (`destination`).
    struct Directory {
        var source: String
        var stored: String
        var destination: String
    }

    /// One file to link: its directory (an index into the directories), its name, and the size and mtime the
    /// previous snapshot recorded.
    struct Candidate {
        var directory: Int
        var name: String
        var size: Int64
        var mtime: Int64
    }

    // The thread writes `linked`; the caller reads it only after joining the thread.
    private let directories: [Directory]
    private let candidates: [Candidate]
    private let linked: UnsafeMutableBufferPointer<stat?>
    private var thread: pthread_t?

    private init(_ directories: [Directory], _ candidates: [Candidate]) {
        self.directories = directories
        self.candidates = candidates
        linked = .allocate(capacity: candidates.count)
        linked.initialize(repeating: nil)
    }

    deinit {
        // The thread held this while it linked: one not joined has finished (this may run on it).
        if let thread { pthread_detach(thread) }
        _ = linked.deinitialize()
        linked.deallocate()
    }

    /// Starts linking `candidates` on a thread of its own.
    static func start(_ directories: [Directory], _ candidates: [Candidate]) -> UnchangedLinks {
        let work = UnchangedLinks(directories, candidates)
        guard !candidates.isEmpty else { return work }
        var handle = pthread_t()
        let context = Unmanaged.passRetained(work).toOpaque()
        if pthread_create(&handle, nil, { context in
            Unmanaged<UnchangedLinks>.fromOpaque(context!).takeRetainedValue().linkAll()
            return nil
        }, context) == 0 {
            work.thread = handle
        } else {
            Unmanaged<UnchangedLinks>.fromOpaque(context).release()
        }
        return work
    }

    /// Waits for the links; returns, for each candidate in order, the stat it was linked on, or nil when it was
    /// not linked (changed, gone, or the link failed).
    func finish() -> [stat?] {
        if !wait() { linkAll() }
        return Array(linked)
    }

    /// Waits for the thread, if one is linking; returns whether one was. A snapshot that fails waits so, before
    /// its partial directory is removed.
    @discardableResult
    func wait() -> Bool {
        guard let thread else { return false }
        pthread_join(thread, nil)
        self.thread = nil
        return true
    }

    /// Links each candidate by name from descriptors of its directories (each opened once): a full path costs a
    /// lookup of every component, twice per link, and a data dir of thousands of files shares a few directories.
    private func linkAll() {
        var descriptors: [Int: (source: Int32, stored: Int32, destination: Int32)] = [:]
        defer {
            for fds in descriptors.values { for fd in [fds.source, fds.stored, fds.destination] where fd >= 0 { close(fd) } }
        }
        for (index, candidate) in candidates.enumerated() {
            let fds = descriptors[candidate.directory] ?? {
                let directory = directories[candidate.directory]
                let flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC
                let opened = (open(directory.source, flags), open(directory.stored, flags),
                              open(directory.destination, flags))
                descriptors[candidate.directory] = opened
                return opened
            }()
            guard fds.source >= 0, fds.stored >= 0, fds.destination >= 0 else { continue }
            var info = stat()
            if fstatat(fds.source, candidate.name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFREG,
               Int64(info.st_size) == candidate.size, FileSystem.mtime(info) == candidate.mtime,
               linkat(fds.stored, candidate.name, fds.destination, candidate.name, 0) == 0 {
                linked[index] = info
            }
        }
    }
}
