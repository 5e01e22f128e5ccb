import Platform

/// Hard-links, on two threads, the files of a snapshot that are unchanged since the previous one (the same size
/// and mtime, stored whole there): a data dir of thousands of small files costs a `link` each, tens of
/// microseconds apiece, and two cores halve that. Each file is stat'ed again just before its link, as the
/// snapshot's own loop does; the stat it was linked on is what its manifest entry records.
///
/// Only the links that succeeded are reported: the snapshot takes any other file through its usual path (which
/// links or copies it, and reports what fails). Without a second thread (`pthread_create` failed) the caller's
/// links them all.
final class UnchangedLinks: @unchecked Sendable {
    /// One file to link: its path in the data dir, where the previous snapshot stores it, where this one will,
    /// and the size and mtime the previous snapshot recorded.
    struct Candidate {
        var source: String
        var stored: String
        var destination: String
        var size: Int64
        var mtime: Int64
    }

    // Each thread writes only its own elements of `linked`, and the caller reads them after joining the other.
    private let candidates: [Candidate]
    private let linked: UnsafeMutableBufferPointer<stat?>

    private init(_ candidates: [Candidate]) {
        self.candidates = candidates
        linked = .allocate(capacity: candidates.count)
        linked.initialize(repeating: nil)
    }

    deinit {
        _ = linked.deinitialize()
        linked.deallocate()
    }

    /// Links each candidate still unchanged; returns, for each, the stat it was linked on, or nil when it was not
    /// linked (changed, gone, or the link failed).
    static func link(_ candidates: [Candidate]) -> [stat?] {
        guard !candidates.isEmpty else { return [] }
        let work = UnchangedLinks(candidates)
        var handle = pthread_t()
        let context = Unmanaged.passRetained(work).toOpaque()
        let started = candidates.count > 1 && pthread_create(&handle, nil, { context in
            Unmanaged<UnchangedLinks>.fromOpaque(context!).takeRetainedValue().link(from: 1, step: 2)
            return nil
        }, context) == 0
        if !started { Unmanaged<UnchangedLinks>.fromOpaque(context).release() }
        work.link(from: 0, step: started ? 2 : 1)
        if started { pthread_join(handle, nil) }
        return Array(work.linked)
    }

    private func link(from first: Int, step: Int) {
        var index = first
        while index < candidates.count {
            let candidate = candidates[index]
            var info = stat()
            if lstat(candidate.source, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
               Int64(info.st_size) == candidate.size, FileSystem.mtime(info) == candidate.mtime,
               Platform.link(candidate.stored, candidate.destination) == 0 {
                linked[index] = info
            }
            index += step
        }
    }
}
