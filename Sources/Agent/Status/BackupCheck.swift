import Shared

/// How `status` judges an app's off-VM backups, from the state the last attempt recorded (``OffsiteBackup``):
/// restic is never run by a probe. A failed last attempt, or a newest backup older than `max_age`, is a
/// WARNING: the data is safe on the VM, but not off it.
struct BackupCheck {
    let app: AppConfig

    /// The recorded state (nil without `backup:` or before the first attempt), with a reason appended when it
    /// is not OK.
    func judge(snapshots: SnapshotCount, now: Timestamp = Timestamp.now(),
               reasons: inout [StatusCollector.Reason]) -> BackupState? {
        guard let config = app.backup?.restic else { return nil }
        guard let state = OffsiteBackup.lastState(app) else {
            if snapshots.count > 0 {
                reasons.append((.warning, "no off-VM backup made yet: the next snapshot runs restic backup"))
            }
            return nil
        }
        let newest = state.newest.map { "newest backup \(Self.age(now.timeIntervalSince($0))) old" }
            ?? "no backup has succeeded yet"
        if !state.ok {
            reasons.append((.warning, "last off-VM backup failed \(Self.age(now.timeIntervalSince(state.attemptedAt))) "
                + "ago (\(newest)): \(state.message ?? "restic failed")"))
        } else if let time = state.newest, now.timeIntervalSince(time) > Double(config.maxAge) {
            reasons.append((.warning, "\(newest), more than backup.restic.max_age (\(Self.age(Double(config.maxAge)))); "
                + "take a snapshot (`shipkeep snapshot`) or check the snapshot timer"))
        }
        return state
    }

    /// `42s`, `5m`, `3h`, `2d`.
    static func age(_ seconds: Double) -> String {
        let value = Int(max(0, seconds))
        switch value {
        case ..<120: return "\(value)s"
        case ..<7200: return "\(value / 60)m"
        case ..<172_800: return "\(value / 3600)h"
        default: return "\(value / 86400)d"
        }
    }
}
