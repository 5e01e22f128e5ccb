import Platform
import Shared

/// The git steps of `deploy --ship`: telling the controller what this clone has, and taking in the bundle it
/// sends — only after git has checked every object in it.
extension Git {
    /// Where a shipped commit is kept: a ref of its own, so that gc keeps its objects and the next ship need not
    /// send them again; no fetch or person writes here.
    static let shippedRef = "refs/shipkeep/shipped"

    /// The commits this clone has tips for (branches, remote-tracking refs, tags peeled to their commit, the
    /// last shipped commit), newest first, at most `limit`: what the controller may leave out of a bundle.
    func tips(limit: Int) -> [String] {
        let output = (try? run(["for-each-ref", "--sort=-committerdate", "--format=%(objectname) %(*objectname)",
                                "refs/heads/", "refs/remotes/", "refs/tags/", Self.shippedRef])) ?? ""
        var seen: Set<String> = []
        var tips: [String] = []
        for line in output.split(separator: "\n") {
            // An annotated tag's own object is no commit; the one it points to (`*objectname`) is.
            let fields = line.split(separator: " ")
            guard let tip = fields.last.map(String.init), Self.isCommitID(tip), !seen.contains(tip) else { continue }
            seen.insert(tip)
            tips.append(tip)
            if tips.count == limit { break }
        }
        return tips
    }

    /// Where the commit of a bundle being imported for `deploy` is held until ``DeployRule`` has passed it
    /// (``keepShipped(_:deploy:)``) or refused it (``dropIncoming(deploy:)``).
    static func incomingRef(_ deploy: String) -> String { "refs/shipkeep/incoming/" + deploy }

    /// Takes the objects of the bundle at `path` into this clone, once git has verified them: the bundle's
    /// prerequisites must be here (`git bundle verify`), it must name exactly `commit` as ``shippedRef``, and
    /// the fetch from it checks every object strictly (`transfer.fsckObjects`) and that `commit` is complete.
    /// A bundle that fails any check adds nothing: git writes a pack only once it has checked all of it. The
    /// commit is then held by ``incomingRef(_:)`` only.
    ///
    /// - Throws: ``GitError`` with what git said, or why the bundle's refs are not what was announced.
    func importBundle(_ path: String, commit: String, deploy: String, timeout: Double) throws {
        try run(["bundle", "verify", "--quiet", "--", path], timeout: timeout)
        let heads = try run(["bundle", "list-heads", "--", path], timeout: timeout)
            .split(separator: "\n").map(String.init)
        guard heads == ["\(commit) \(Self.shippedRef)"] else {
            throw GitError(arguments: ["bundle", "list-heads"], message: "the bundle names \(heads.count) ref(s), "
                + "not just \(Self.shippedRef) at \(commit.prefix(12))")
        }
        try run(["-c", "transfer.fsckObjects=true", "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
                 "--no-auto-gc", "--", path, "+\(Self.shippedRef):\(Self.incomingRef(deploy))"], timeout: timeout)
    }

    /// Makes the imported commit of `deploy` the shipped one, which the next ship can build on.
    ///
    /// - Throws: ``GitError``.
    func keepShipped(_ commit: String, deploy: String) throws {
        try run(["update-ref", Self.shippedRef, commit])
        dropIncoming(deploy: deploy)
    }

    /// Forgets a refused import: its objects are no longer referenced, and gc removes them in time.
    func dropIncoming(deploy: String) {
        _ = try? run(["update-ref", "-d", Self.incomingRef(deploy)])
    }
}
