import Platform
import ProcessKit
import Shared

/// A failed git command, with what git said.
struct GitError: Error, CustomStringConvertible {
    var arguments: [String]
    /// git's last line of stderr (or how it failed to run).
    var message: String
    /// All that git said on stderr, bounded (see ``Git/said(_:)``); empty when it said nothing.
    var stderr: [String] = []
    var description: String { "git \(arguments.joined(separator: " ")): \(message)" }

    /// Everything git said, as one line: each line escaped, joined with " | ". Falls back to ``message``.
    var wholeStderr: String {
        stderr.isEmpty ? message : stderr.map(ControlCharacters.escaped).joined(separator: " | ")
    }
}

/// git, run as argv (never through a shell) against one work tree.
///
/// Every call passes `-c safe.directory=<tree>` so an agent running as another user than the checkout's
/// owner still works on exactly the tree `agent.yml` names — and no other.
struct Git {
    /// The work tree.
    let tree: String
    /// Seconds a query may take.
    var timeout: Double = 60

    /// Runs `git <arguments>` in the tree and returns its stdout.
    ///
    /// - Throws: ``GitError`` when git fails, times out or cannot be started.
    @discardableResult
    func run(_ arguments: [String], timeout: Double? = nil) throws -> String {
        let argv = ["git", "-C", tree, "-c", "safe.directory=\(tree)", "-c", "core.quotePath=false"] + arguments
        let outcome: ChildResult
        do {
            outcome = try ProcessRunner.run(argv, environment: Self.environment, timeout: timeout ?? self.timeout)
        } catch {
            throw GitError(arguments: arguments, message: "\(error)")
        }
        guard outcome.succeeded else {
            let lines = Self.said(outcome.stderr)
            let last = lines.last ?? ""
            let failed = last.isEmpty || outcome.timedOut ? outcome.summary : last
            throw GitError(arguments: arguments, message: failed, stderr: lines)
        }
        return outcome.stdout
    }

    /// git's stderr as lines, bounded so that a chatty remote cannot fill a message: at most 40 lines (the
    /// first 10 and the last 30, with a line saying how many were left out), each at most 400 characters.
    static func said(_ stderr: String) -> [String] {
        let lines = stderr.split(whereSeparator: \.isNewline)
            .map { $0.trimming(while: \.isWhitespace) }.filter { !$0.isEmpty }
            .map { $0.count > 400 ? String($0.prefix(400)) + "…" : $0 }
        guard lines.count > 40 else { return lines }
        return Array(lines.prefix(10)) + ["… \(lines.count - 40) more lines …"] + Array(lines.suffix(30))
    }

    /// The checked-out commit, its branch (nil when detached), subject and commit time.
    ///
    /// - Throws: ``GitError`` when the tree is not a git work tree or has no commit.
    func head() throws -> GitHead {
        let fields = try run(["log", "-1", "--format=%H%x00%s%x00%ct", "HEAD"])
            .trimming(while: \.isNewline).split(separator: "\0", omittingEmptySubsequences: false)
        let branch = try? run(["symbolic-ref", "--short", "-q", "HEAD"]).trimming(while: \.isWhitespace)
        return GitHead(
            commit: String(fields[0]),
            branch: branch?.isEmpty == false ? branch : nil,
            subject: fields.count > 1 ? String(fields[1]) : nil,
            committedAt: fields.count > 2 ? Double(fields[2]).map { Timestamp(timeIntervalSince1970: $0) } : nil
        )
    }

    /// Tracked paths whose content differs from HEAD (staged or not). Untracked files are not counted.
    ///
    /// - Throws: ``GitError``.
    func changedTrackedPaths() throws -> [String] {
        let output = try run(["status", "--porcelain=v1", "-z", "--untracked-files=no", "--ignore-submodules"])
        var paths: [String] = []
        var skipNext = false
        for entry in output.split(separator: "\0") {
            if skipNext { skipNext = false; continue }
            guard entry.count > 3 else { continue }
            let status = entry.prefix(2)
            paths.append(String(entry.dropFirst(3)))
            // A rename or copy is followed by its source path as a separate entry.
            if status.contains("R") || status.contains("C") { skipNext = true }
        }
        return paths
    }

    static let environment = [
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
        "LC_ALL": "C",
    ]
}
