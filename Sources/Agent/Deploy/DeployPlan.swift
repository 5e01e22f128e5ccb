import Platform
import Shared

/// What a deploy decided, saved in the state dir as soon as it is known so that recovery after a crash knows
/// which commit to return to and which snapshot to verify against.
struct DeployPlan: Codable {
    var deploy: String
    var app: String
    var controller: String?
    var startedAt: Timestamp
    var previousCommit: String?
    var targetCommit: String?
    var snapshot: String?
    /// A snapshot on its own (`shipkeep snapshot`, a timer): it deploys nothing, so recovering it must not
    /// become the app's last deploy, which `rollback` reads.
    var snapshotOnly: Bool?

    func save(_ state: StateDirectory) throws {
        try FileSystem.writeAtomically(StateDirectory.encode(self), to: state.plan(deploy))
    }

    static func load(_ state: StateDirectory, deploy: String) -> DeployPlan? {
        guard let bytes = FileSystem.read(state.plan(deploy)) else { return nil }
        return try? StateDirectory.decode(DeployPlan.self, from: bytes)
    }

    /// `d-20261125T101500Z-7f3a`: sortable by time, unique enough for one app's deploys.
    static func newID(now: Timestamp = Timestamp.now()) -> String {
        let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        return "d-" + Timestamp.compact(now) + "-" + String(repeating: "0", count: 4 - suffix.count) + suffix
    }
}
