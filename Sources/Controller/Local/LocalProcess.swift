import Foundation
import Platform
import ProcessKit

/// How the controller runs a local program (`git`), through ProcessKit: argv only, no descriptor of shipkeep's
/// (the SSH session's socket, the deploy key's file), an empty signal mask (shipkeep blocks SIGINT & co. for
/// ``Interrupts``, and a child would inherit the mask and be deaf to Ctrl-C).
///
/// The child stays in shipkeep's process group and inherits stdin, so that Ctrl-C reaches it and `git push` can
/// still ask for a passphrase on a laptop. It gets this process's environment without ``secretVariables``:
/// `git push` runs hooks, credential helpers and an ssh of the user's choosing, none of which has any business
/// with the deploy key.
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

    /// Runs `arguments` (the first is looked up on `PATH`) and waits for it. Its stderr is shipkeep's.
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
        let command = ChildCommand(arguments, environment: childEnvironment(), group: .inherit,
                                   stdin: input.map { .descriptor($0) } ?? .inherit,
                                   stdout: captureOutput ? .capture : .descriptor(outputFD ?? 2), stderr: .inherit)
        do {
            // git's stdout here is a commit list or an object list: a cap far above any real one, so that a
            // runaway child cannot fill the memory.
            let result = try command.run(captureLimit: 256 << 20)
            return Outcome(status: result.status.shellStatus, output: result.stdout)
        } catch {
            throw ControllerError(.local, "\(error)")
        }
    }

    /// This process's environment without ``secretVariables``.
    static func childEnvironment() -> [String: String] {
        ProcessEnvironment.current().filter { !secretVariables.contains($0.key) }
    }
}
