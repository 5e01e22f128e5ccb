import Foundation
import Platform

/// A small tmpfs mounted over a directory, to make a filesystem run out of space on purpose. Root only.
public final class TmpfsMount: @unchecked Sendable {
    // @unchecked: only the owning test touches `mounted`.

    /// Where it is mounted.
    public let path: String
    private var mounted = true

    /// Mounts a tmpfs of `bytes` at `path` (created if needed).
    ///
    /// - Throws: ``SandboxError`` saying that root is needed, with what `mount` said.
    public init(at path: String, bytes: Int) throws {
        self.path = path
        guard geteuid() == 0 else {
            throw SandboxError("this test needs root to mount a small tmpfs; run it as root, as CI does")
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let result = try runProcess(["mount", "-t", "tmpfs", "-o", "size=\(bytes),mode=0700", "tmpfs", path])
        guard result.status == 0 else {
            mounted = false
            throw SandboxError("cannot mount a tmpfs at \(path): \(result.stderr)")
        }
    }

    deinit {
        unmount()
    }

    /// Bytes free on it.
    public var freeBytes: Int {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return 0 }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Takes all but `leaving` bytes of the free space with a ballast file.
    ///
    /// - Throws: ``SandboxError`` when the file cannot be allocated.
    public func fill(leaving: Int) throws {
        let size = freeBytes - leaving
        guard size > 0 else { return }
        let result = try runProcess(["fallocate", "-l", String(size), path + "/ballast"])
        guard result.status == 0 else { throw SandboxError("cannot fill \(path): \(result.stderr)") }
    }

    /// Unmounts it (lazily if something still has a file open there). Idempotent.
    public func unmount() {
        guard mounted else { return }
        mounted = false
        if (try? runProcess(["umount", path]))?.status != 0 {
            _ = try? runProcess(["umount", "-l", path])
        }
    }
}
