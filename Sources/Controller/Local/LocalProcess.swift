import Foundation
import Platform

/// Runs a local program (`git`) with an argv array, never through a shell.
///
/// Built on `posix_spawnp` rather than Foundation's `Process`, which on this platform can block reaping
/// children; the child inherits stdin so `git push` can still ask for a passphrase on a laptop. The child gets
/// this process's environment without ``secretVariables``: `git push` runs hooks, credential helpers and an
/// ssh of the user's choosing, none of which has any business with the deploy key.
enum LocalProcess {
    /// The controller's own secrets: the deploy key and its passphrase, which only the SSH client reads.
    static let secretVariables: Set<String> = ["SHIPKEEP_SSH_KEY", "SHIPKEEP_SSH_PASSPHRASE"]

    /// What a finished program left behind.
    struct Outcome {
        /// The exit status, or 128 + the signal number if a signal ended it.
        var status: Int32
        /// Its stdout, when captured.
        var output: String
    }

    /// Runs `arguments` (the first is looked up on `PATH`) and waits for it.
    ///
    /// - Parameters:
    ///   - arguments: The argv, the program first.
    ///   - captureOutput: Collect stdout and return it; otherwise the child's stdout goes to our stderr, so that
    ///     `--json` keeps stdout to JSON Lines alone.
    ///   - input: A file descriptor to give the child as stdin instead of ours.
    ///   - output: A file descriptor to give the child as stdout (with `captureOutput` false).
    /// - Throws: ``ControllerError`` with kind `.local` when the program cannot be started.
    static func run(_ arguments: [String], captureOutput: Bool, input: Int32? = nil,
                    output outputFD: Int32? = nil) throws(ControllerError) -> Outcome {
        var fds: [Int32] = [-1, -1]
        if captureOutput {
            guard pipe(&fds) == 0 else {
                throw ControllerError(.local, "cannot create a pipe to run \(arguments[0]): \(String(cString: strerror(errno)))")
            }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if captureOutput {
            posix_spawn_file_actions_addclose(&actions, fds[0])
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
            posix_spawn_file_actions_addclose(&actions, fds[1])
        } else {
            posix_spawn_file_actions_adddup2(&actions, outputFD ?? 2, 1)
        }
        if let input { posix_spawn_file_actions_adddup2(&actions, input, 0) }
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environment = childEnvironment().map { strdup($0) } + [nil]
        defer { environment.forEach { free($0) } }
        var pid: pid_t = 0
        // The child starts with no signal blocked: shipkeep blocks SIGINT & co. for ``Interrupts``, and a mask is
        // inherited, which would leave a `git push` deaf to Ctrl-C.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var unblocked = Interrupts.unblocked
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let spawned = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environment)
        if captureOutput { close(fds[1]) }
        guard spawned == 0 else {
            if captureOutput { close(fds[0]) }
            throw ControllerError(.local, "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))")
        }
        var output = Data()
        if captureOutput {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(fds[0], &buffer, buffer.count)
                if count > 0 {
                    output.append(contentsOf: buffer[0..<count])
                } else if count == 0 || errno != EINTR {
                    break
                }
            }
            close(fds[0])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: exit, output: String(decoding: output, as: UTF8.self))
    }

    /// This process's environment as `NAME=value` entries, without ``secretVariables``.
    static func childEnvironment() -> [String] {
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            if !secretVariables.contains(name ?? "") { entries.append(text) }
            cursor += 1
        }
        return entries
    }
}
