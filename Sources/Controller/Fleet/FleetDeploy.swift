import Foundation
import Shared

/// Runs one request (a deploy of one commit, a rollback, an attach, a snapshot list) on the targets of a
/// `shipkeep.yml` group: the first `canary` targets first (any failure
/// among them stops the rollout), then the rest, `parallel` at a time. Every host has its own SSH connection
/// and its own deploy worker on its VM, so one host's failure never stops or touches another's deploy.
struct FleetDeploy {
    /// One member, resolved before anything connects (a bad member fails the whole command up front).
    struct Member {
        var name: String
        var target: ResolvedTarget
        var command: Command
    }

    /// What happened on one host.
    struct HostResult: Encodable {
        var v = WireProtocol.version
        var type = "host"
        var target: String
        var address: String
        var ok: Bool
        var exitCode: Int32
        /// `succeeded`, `rolled_back`, …, `unreachable`, or `skipped` (not started: a canary failed).
        var outcome: Outcome
        var seconds: Double
        var error: WireError?
        var deploy: DeploySummary?
        /// The host's snapshots, for `snapshots GROUP`.
        var snapshots: [SnapshotInfo]?
    }

    let members: [Member]
    let parallel: Int
    let canary: Int

    /// Runs the rollout; `onHost` is called (from worker threads, one call at a time) as each host finishes.
    ///
    /// - Parameter pin: Once the canaries succeeded all with the same commit, called (on this thread) with that
    ///   commit for each remaining member; the command it returns replaces the member's, so that the rest of
    ///   the fleet gets exactly what the canaries got even if the branch moved meanwhile.
    func run(onHost: @escaping @Sendable (HostResult) -> Void, pin: (String, Member) -> Command?) -> [HostResult] {
        var members = self.members
        let results = ResultBox(count: members.count)
        let canaries = Array(members.indices.prefix(canary))
        let rest = Array(members.indices.dropFirst(canary))
        runPool(canaries, members: members, results: results, onHost: onHost)
        let canaryFailed = canaries.contains { results.get($0)?.ok != true }
        let canaryCommits = Set(canaries.compactMap { results.get($0)?.deploy?.commit })
        if !canaryFailed, canaryCommits.count == 1, let commit = canaryCommits.first {
            for index in rest { members[index].command = pin(commit, members[index]) ?? members[index].command }
        }
        if canaryFailed {
            for index in rest {
                let member = members[index]
                let skipped = HostResult(target: member.name, address: member.target.display, ok: false,
                                         exitCode: DeployExit.failed, outcome: .skipped, seconds: 0,
                                         error: WireError(code: .skipped, message: "not deployed: a canary failed"))
                results.set(index, skipped)
                onHost(skipped)
            }
        } else {
            runPool(rest, members: members, results: results, onHost: onHost)
        }
        return members.indices.map { results.get($0)! }
    }

    /// Deploys `indices`, at most `parallel` at once, each on its own thread.
    private func runPool(_ indices: [Int], members: [Member], results: ResultBox,
                         onHost: @escaping @Sendable (HostResult) -> Void) {
        let members = UncheckedMembers(members)
        ThreadPool.forEach(indices, width: parallel) { index in
            let result = Self.deploy(members.value[index])
            results.set(index, result)
            onHost(result)
        }
    }

    /// One host's deploy, start to result, on the calling thread.
    private static func deploy(_ member: Member) -> HostResult {
        let started = Date()
        func finish(ok: Bool, code: Int32, outcome: Outcome, error: WireError?, deploy: DeploySummary?) -> HostResult {
            HostResult(target: member.name, address: member.target.display, ok: ok, exitCode: code, outcome: outcome,
                       seconds: Date().timeIntervalSince(started), error: error, deploy: deploy)
        }
        do {
            let connection = try AgentConnection(member.target, verbose: false)
            defer { connection.close() }
            var snapshots: [SnapshotInfo]?
            let result = try connection.session.request(member.command) { message in
                if case .snapshots(let list) = message.event { snapshots = list.snapshots }
            }
            let outcome = result.deploy?.outcome ?? .of(result)
            var host = finish(ok: result.ok, code: DeployExit.code(for: result), outcome: outcome, error: result.error,
                              deploy: result.deploy)
            host.snapshots = snapshots
            return host
        } catch {
            return finish(ok: false, code: error.exitCode, outcome: .unreachable,
                          error: WireError(code: error.wireCode, message: error.message), deploy: nil)
        }
    }

    /// The fleet's exit status: 0 when every host succeeded; otherwise the most serious host status —
    /// 2 (a host needs attention) before 3 (unreachable) before 4 (locked) before 1 (failed safely, skipped).
    static func exitCode(_ results: [HostResult]) -> Int32 {
        let codes = Set(results.map(\.exitCode))
        for code in [DeployExit.needsAttention, DeployExit.unreachable, DeployExit.locked, DeployExit.failed]
        where codes.contains(code) {
            return code
        }
        return codes.subtracting([DeployExit.ok]).first ?? DeployExit.ok
    }
}

/// Results by member index, written by worker threads.
private final class ResultBox: @unchecked Sendable {
    // Every access holds `lock`.
    private let lock = NSLock()
    private var results: [FleetDeploy.HostResult?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: FleetDeploy.HostResult) { lock.withLock { results[index] = result } }
    func get(_ index: Int) -> FleetDeploy.HostResult? { lock.withLock { results[index] } }
}

/// The members, shared read-only with the worker threads. Safe: the array is never mutated after the rollout
/// starts, and each member's connection settings are used by exactly one thread (the one that took its index).
private final class UncheckedMembers: @unchecked Sendable {
    let value: [FleetDeploy.Member]
    init(_ value: [FleetDeploy.Member]) { self.value = value }
}
