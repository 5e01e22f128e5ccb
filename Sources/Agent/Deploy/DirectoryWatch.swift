import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Wakes a reader as soon as a file in one directory is created or written (inotify), so that a follower of a
/// growing file need not poll on a fixed interval. Where inotify is unavailable (or out of watches), `wait`
/// degrades to sleeping for its timeout, which is what the follower did before.
final class DirectoryWatch {
    private let fd: Int32

    /// Watches `directory` for files created, written or moved into it.
    init(directory: String) {
        var fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if fd >= 0 {
            let mask = UInt32(IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO)
            if inotify_add_watch(fd, directory, mask) < 0 {
                close(fd)
                fd = -1
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
            Thread.sleep(forTimeInterval: timeout)
            return
        }
        var pollfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&pollfd, 1, Int32(max(0, (timeout * 1000).rounded(.up))))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read(fd, &buffer, buffer.count) > 0 {}
    }
}
