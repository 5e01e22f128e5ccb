// Where Glibc and Darwin spell the same thing differently. Only Linux is built and tested; the Darwin side is
// written from the headers so that the controller could build on macOS, and has never been run.

extension stat {
    /// The modification time (`st_mtim` on Linux, `st_mtimespec` on Darwin).
    public var modificationTime: timespec {
        #if canImport(Darwin)
        st_mtimespec
        #else
        st_mtim
        #endif
    }

    /// The status change time (`st_ctim` on Linux, `st_ctimespec` on Darwin).
    public var statusChangeTime: timespec {
        #if canImport(Darwin)
        st_ctimespec
        #else
        st_ctim
        #endif
    }
}

/// Sockets with the flags shipkeep always wants: close-on-exec and non-blocking, set atomically where the system
/// can (Linux's `SOCK_CLOEXEC | SOCK_NONBLOCK`), right after creation where it cannot (Darwin).
public enum PlatformSocket {
    /// `SOCK_STREAM` as the `Int32` that `socket` and `getaddrinfo` take.
    public static let stream: Int32 = {
        #if canImport(Darwin)
        SOCK_STREAM
        #else
        Int32(SOCK_STREAM.rawValue)
        #endif
    }()

    /// `send`'s flags for a write that must not raise SIGPIPE (`MSG_NOSIGNAL`; Darwin sets `SO_NOSIGPIPE` on the
    /// socket instead, in ``open(_:_:_:)`` and ``pair()``).
    public static let noSignal: Int32 = {
        #if canImport(Darwin)
        0
        #else
        Int32(MSG_NOSIGNAL)
        #endif
    }()

    /// A new non-blocking, close-on-exec socket, or -1 with `errno` set.
    public static func open(_ family: Int32, _ type: Int32, _ proto: Int32) -> Int32 {
        #if canImport(Darwin)
        let descriptor = socket(family, type, proto)
        guard descriptor >= 0 else { return -1 }
        guard prepare(descriptor) else {
            let saved = errno
            close(descriptor)
            errno = saved
            return -1
        }
        return descriptor
        #else
        socket(family, type | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), proto)
        #endif
    }

    /// A connected pair of non-blocking, close-on-exec Unix stream sockets, or nil with `errno` set.
    public static func pair() -> (Int32, Int32)? {
        var descriptors: [Int32] = [-1, -1]
        #if canImport(Darwin)
        guard socketpair(AF_UNIX, SOCK_STREAM, 0, &descriptors) == 0 else { return nil }
        guard prepare(descriptors[0]), prepare(descriptors[1]) else {
            let saved = errno
            close(descriptors[0])
            close(descriptors[1])
            errno = saved
            return nil
        }
        #else
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        guard socketpair(AF_UNIX, type, 0, &descriptors) == 0 else { return nil }
        #endif
        return (descriptors[0], descriptors[1])
    }

    #if canImport(Darwin)
    private static func prepare(_ descriptor: Int32) -> Bool {
        var on: Int32 = 1
        return fcntl(descriptor, F_SETFD, FD_CLOEXEC) == 0
            && fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) == 0
            && setsockopt(descriptor, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size)) == 0
    }
    #endif
}
