import Foundation
import Shared
import Platform

/// `deploy --ship`: a git bundle of one commit built from the clone in the current directory, holding only the
/// objects the VM lacks — the commit minus everything its tips reach (those it knows here; when it knows none,
/// the commit's whole history).
///
/// Written as git's own v2 bundle format: git's header (the VM's tips as prerequisites, the commit as
/// `refs/shipkeep/shipped`) followed by what `git pack-objects --revs --thin` makes, so the commit need have no
/// ref here, and nothing in this clone is changed.
struct ShipBundle {
    /// The bundle file, in a private temporary directory that ``remove()`` deletes.
    let path: String
    /// Its size.
    let bytes: Int64
    /// The full commit id it ships.
    let commit: String
    /// How many of the VM's tips it builds on (0: the whole history).
    let prerequisites: Int
    private let directory: String

    /// The ref the bundle names: the agent takes exactly this one (see the agent's `Git.shippedRef`).
    static let ref = "refs/shipkeep/shipped"

    /// Builds the bundle of `revision` for a VM that has `tips`. When this clone is shallow and knows none of
    /// them (a CI checkout with little history), it first fetches the rest of its history, so that the VM gets a
    /// complete one.
    ///
    /// - Parameter say: Receives one line per step taken (a fetch), for the user.
    /// - Throws: ``ControllerError`` of kind `.local`: not in a clone, an unknown commit, git failing.
    static func build(_ revision: String, for tips: [String], say: (String) -> Void) throws(ControllerError)
        -> ShipBundle {
        guard (try? git(["rev-parse", "--is-inside-work-tree"])) == "true" else {
            throw ControllerError(.local, "--ship sends the commit from a git clone: run it inside your app's clone")
        }
        guard let commit = try? git(["rev-parse", "--verify", "--quiet", "--end-of-options", revision + "^{commit}"]),
              !commit.isEmpty else {
            throw ControllerError(.local, "commit \(revision) is not in this clone, so it cannot be shipped: "
                + "`git fetch` it first (in CI: actions/checkout with fetch-depth: 0)")
        }
        let directory = try makeTemporaryDirectory()
        do throws(ControllerError) {
            var known = try knownCommits(tips, directory: directory)
            if known.isEmpty, !tips.isEmpty, (try? git(["rev-parse", "--is-shallow-repository"])) == "true" {
                say("this clone is shallow and has none of the VM's commits: fetching its history "
                    + "(git fetch --unshallow) so that the VM gets a complete one")
                let status = try LocalProcess.run(["git", "fetch", "--quiet", "--unshallow"], captureOutput: false)
                    .status
                guard status == 0 else {
                    throw ControllerError(.local, "git fetch --unshallow failed (exit \(status)); see git's message "
                        + "above. In CI, check out with fetch-depth: 0 — nothing was deployed")
                }
                known = try knownCommits(tips, directory: directory)
            }
            let path = directory + "/ship.bundle"
            try write(path, header(commit: commit, prerequisites: known))
            try write(directory + "/revs", ([commit] + known.map { "^" + $0 }).joined(separator: "\n") + "\n")
            let input = try open(directory + "/revs", O_RDONLY)
            defer { close(input) }
            let output = try open(path, O_WRONLY | O_APPEND)
            defer { close(output) }
            let status = try LocalProcess.run(["git", "pack-objects", "--stdout", "--revs", "--thin",
                                               "--delta-base-offset", "-q"], captureOutput: false, input: input,
                                              output: output).status
            guard status == 0 else {
                throw ControllerError(.local, "git pack-objects failed (exit \(status)) building the bundle of "
                    + "\(commit.prefix(12)); see git's message above — nothing was deployed")
            }
            var info = stat()
            guard fstat(output, &info) == 0 else { throw failure("stat", path) }
            return ShipBundle(path: path, bytes: Int64(info.st_size), commit: commit, prerequisites: known.count,
                              directory: directory)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Deletes the bundle and its directory.
    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The commits among `tips` that this clone has (the others cannot be left out: git here cannot tell what
    /// they reach).
    private static func knownCommits(_ tips: [String], directory: String) throws(ControllerError) -> [String] {
        let valid = tips.filter { $0.count >= 40 && $0.allSatisfy(\.isHexDigit) }
        guard !valid.isEmpty else { return [] }
        let list = directory + "/tips"
        try write(list, valid.joined(separator: "\n") + "\n")
        let input = try open(list, O_RDONLY)
        defer { close(input) }
        let outcome = try LocalProcess.run(["git", "cat-file", "--batch-check=%(objectname) %(objecttype)"],
                                           captureOutput: true, input: input)
        guard outcome.status == 0 else {
            throw ControllerError(.local, "git cat-file failed (exit \(outcome.status)) looking up the VM's commits")
        }
        var seen: Set<String> = []
        return outcome.output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2, fields[1] == "commit", seen.insert(String(fields[0])).inserted else { return nil }
            return String(fields[0])
        }
    }

    /// git's v2 bundle header: signature, prerequisites, the one ref, a blank line.
    static func header(commit: String, prerequisites: [String]) -> String {
        "# v2 git bundle\n" + prerequisites.map { "-\($0)\n" }.joined() + "\(commit) \(ref)\n\n"
    }

    private static func git(_ arguments: [String]) throws(ControllerError) -> String {
        let outcome = try LocalProcess.run(["git"] + arguments, captureOutput: true)
        guard outcome.status == 0 else {
            throw ControllerError(.local, "git \(arguments.first ?? "") failed with exit \(outcome.status)")
        }
        return outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func makeTemporaryDirectory() throws(ControllerError) -> String {
        var template = Array((NSTemporaryDirectory() + "/shipkeep-ship-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw failure("mkdtemp", NSTemporaryDirectory())
        }
        return String(cString: made)
    }

    private static func open(_ path: String, _ flags: Int32) throws(ControllerError) -> Int32 {
        let fd = Platform.open(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        return fd
    }

    private static func write(_ path: String, _ text: String) throws(ControllerError) {
        let fd = Platform.open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_TRUNC, 0o600)
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Platform.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw failure("write", path) }
            offset += written
        }
    }

    private static func failure(_ call: String, _ path: String) -> ControllerError {
        ControllerError(.local, "cannot build the bundle to ship: \(call) \(path): \(String(cString: strerror(errno)))")
    }
}
