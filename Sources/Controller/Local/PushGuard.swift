import Foundation
import Shared

/// The refusals of `deploy --push` that need the VM, made before anything is pushed: a push that the deploy
/// would then refuse (or that puts a feature branch on prod) must not land on the git host either.
///
/// The app's branch comes from the agent, in one `status` round trip: agent.yml is the authority on what the
/// app deploys, and a copy of its `branch:` in shipkeep.yml would drift from it. The same answer says whether
/// the app exists there and whether tracked files were modified on the VM (which the deploy refuses without
/// `--force`).
struct PushGuard {
    /// `--allow-branch`: push and deploy a branch other than the app's.
    var allowBranch: Bool
    /// `--force`: the deploy discards edits made on the VM, so they do not block the push.
    var force: Bool
    var verbose: Bool

    /// Asks each target's agent about its app and refuses what the deploy would refuse.
    ///
    /// - Parameters:
    ///   - pushed: What ``GitPush/prepare()`` settled (nothing is pushed yet).
    ///   - targets: The targets, by name; for a group, every member.
    ///   - skipUnreachable: For a group: a member that cannot be asked is left to its deploy, which reports it
    ///     unreachable, rather than keeping the others from deploying.
    /// - Throws: ``ControllerError``: `.local` for a refusal (exit 1), the connection's kind when a lone target
    ///   cannot be asked, `.agent` when the agent does not know the app.
    func check(_ pushed: GitPush.Pushed, targets: [(name: String, target: ResolvedTarget)],
               skipUnreachable: Bool) throws(ControllerError) {
        for (name, target) in targets {
            let app = try AgentRequest.requireApp(target)
            let status: AppStatus
            do {
                status = try Self.status(of: app, on: target, verbose: verbose)
            } catch let error where skipUnreachable && error.kind != .agent {
                continue
            } catch {
                throw ControllerError(error.kind, "\(targets.count > 1 ? "target \(name): " : "")\(error.message) — "
                    + "nothing was pushed", code: error.code)
            }
            let on = targets.count > 1 ? " on \(name)" : ""
            if pushed.remoteBranch != status.branch && !allowBranch {
                throw ControllerError(.local, "refusing to push \(pushed.remoteBranch): \(app)\(on) deploys "
                    + "\(ControlCharacters.escaped(status.branch)) (agent.yml's branch:); check out "
                    + "\(ControlCharacters.escaped(status.branch)) and push from there, or pass --allow-branch to push "
                    + "and deploy \(pushed.remoteBranch) anyway (the agent takes its commits only if agent.yml's "
                    + "allow_refs lists the branch) — nothing was pushed")
            }
            if status.dirty == true && !force {
                let paths = status.dirtyPaths.prefix(3).map(ControlCharacters.escaped).joined(separator: ", ")
                throw ControllerError(.local, "tracked files of \(app)\(on) were modified on the VM (\(paths)), so the "
                    + "deploy would refuse; commit those changes in the repository, or pass --force to discard them "
                    + "(saved as a patch first) — nothing was pushed")
            }
        }
    }

    /// The app's status from one `status` round trip.
    private static func status(of app: String, on target: ResolvedTarget, verbose: Bool) throws(ControllerError)
        -> AppStatus {
        let connection = try AgentConnection(target, verbose: verbose)
        defer { connection.close() }
        var report: StatusReport?
        let result = try connection.session.request(.status(app: app)) { message in
            if case .status(let status) = message.event { report = status }
        }
        guard result.ok, let status = report?.apps.first(where: { $0.name == app }) else {
            throw ControllerError(.agent, result.error?.message ?? "the agent sent no status of \(app)",
                                  code: result.error?.code)
        }
        return status
    }
}
