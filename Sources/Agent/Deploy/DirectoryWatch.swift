import Platform

/// Wakes a reader as soon as a file in one directory is created or written (inotify), so that a follower of a
/// growing file need not poll on a fixed interval. Where inotify is unavailable (or out of watches), `wait`
/// degrades to sleeping for its timeout, which is what the follower did before.
final class DirectoryWatch {
    private let fd: Int32

    /// Watches `directory` for files created, written or moved into it.
    convenience init(directory: String) {
        self.init(directories: [directory])
    }

    /// Watches each of `directories` for files created, written, moved in or out, or removed (a log rotation
    /// renames one file away and creates another).
    init(directories: [String]) {
        var fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if fd >= 0 {
            let mask = UInt32(IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)
            for directory in Set(directories) where inotify_add_watch(fd, directory, mask) < 0 {
                close(fd)
                fd = -1
                break
            }
        }
        self.fd = fd
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Returns once something changed in the directory since the last call, or after `timeout` seconds.
    /// A change that happened before the call returns at once, so a write between a reader's last read and
    /// this call is never slept through.
    func wait(timeout: Double) {
        guard fd >= 0 else {
            Pause.seconds(timeout)
            return
        }
        var pollfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&pollfd, 1, Int32(max(0, (timeout * 1000).rounded(.up))))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read(fd, &buffer, buffer.count) > 0 {}
    }

    /// As ``wait(timeout:)``, and also returns — with true — as soon as `input` is readable or closed (the
    /// controller sent something, or went away). Without inotify it polls `input` alone for the timeout.
    func wait(timeout: Double, orInput input: Int32) -> Bool {
        var fds = [pollfd(fd: input, events: Int16(POLLIN), revents: 0)]
        if fd >= 0 { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
        _ = poll(&fds, nfds_t(fds.count), Int32(max(0, (timeout * 1000).rounded(.up))))
        if fd >= 0 {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while read(fd, &buffer, buffer.count) > 0 {}
        }
        return fds[0].revents != 0
    }
}
