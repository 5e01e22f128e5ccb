import Foundation
import Platform
import ProcessKit

/// A watcher that removes a ``SystemdVM`` whose owner dies without stopping it (SIGKILL, a crash, a cancelled
/// test run): `shipkeep-sandbox vm-reap`, reading a pipe whose only write end this process holds
/// (close-on-exec, so no other child keeps it open). The owner's death closes the pipe; the watcher then removes
/// the VM if its claim still names the owner. Its own session, deaf to SIGINT, SIGHUP and SIGTERM, so that the
/// signal that ends a test run or a terminal does not end the watcher before it has cleaned up.
final class VMReaper {
    private var writeEnd: Int32
    private let child: ChildProcess

    /// Starts the watcher for the VM of `subnet`, owned by this process.
    ///
    /// - Throws: ``SandboxError`` when the pipe cannot be made or `shipkeep-sandbox` is not built.
    init(subnet: Int) throws {
        var ends: [Int32] = [-1, -1]
        // pipe2 is not visible to Swift; a child spawned by another thread in between would hold the write end
        // only until it exits (ProcessKit's children inherit no descriptor but their stdio).
        guard pipe(&ends) == 0 else { throw SandboxError("pipe: \(String(cString: strerror(errno)))") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        defer { close(ends[0]) }
        do {
            child = try spawnChild(ChildCommand(
                [try BuildProducts.path("shipkeep-sandbox"), "vm-reap", "--subnet", String(subnet),
                 "--owner", String(getpid())],
                environment: sandboxEnvironment(adding: [:]), stdin: .descriptor(ends[0]), stderr: .inherit))
        } catch {
            close(ends[1])
            throw error
        }
        writeEnd = ends[1]
    }

    deinit {
        release()
    }

    /// Tells the watcher that the owner is done (after it removed the VM itself), and reaps it. Idempotent.
    func release() {
        guard writeEnd >= 0 else { return }
        close(writeEnd)
        writeEnd = -1
        child.wait()
    }

    /// The watcher's side: waits for end of file on stdin, then removes the VM of `subnet` if its claim still
    /// names `owner` (an owner that stopped its VM has removed the claim).
    ///
    /// - Returns: Whether it removed a VM.
    static func watch(subnet: Int, owner: pid_t) -> Bool {
        setsid()
        for signal in [SIGINT, SIGHUP, SIGTERM, SIGPIPE] { Platform.signal(signal, SIG_IGN) }
        var byte: UInt8 = 0
        while true {
            let count = read(0, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
        }
        let claim = (try? String(contentsOfFile: SystemdVM.claims + "/\(subnet)", encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard claim == owner else { return false }
        SystemdVM.removeLeftovers(subnet)
        return true
    }
}
