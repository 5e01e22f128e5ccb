import Shared

extension Restic {
    /// What `restic backup --json` said at the end.
    struct BackupSummary: Decodable {
        var snapshot_id: String?
        var files_new: Int?
        var files_changed: Int?
        var data_added: Int64?
        var total_files_processed: Int?
    }

    /// A snapshot as `restic snapshots --json` lists it.
    private struct Listed: Decodable {
        var id: String
        var time: String
        var hostname: String?
        var tags: [String]?
    }

    /// The tags of a backup of `info`.
    func tags(_ info: SnapshotInfo) -> [String] {
        [appTag, "snapshot:" + info.id] + (info.commit.map { ["commit:" + $0] } ?? []) + ["bytes:\(info.bytes)"]
    }

    /// `restic backup` of snapshot `info` (the directory `ID` under the snapshot dir, stored as `/ID`).
    ///
    /// - Throws: ``Restic/Failure``.
    func backup(_ info: SnapshotInfo, setup: Setup, onLine: (String, String) -> Void) throws(Failure) -> BackupSummary {
        var summary: BackupSummary?
        let arguments = ["backup", "--json"] + tags(info).flatMap { ["--tag", $0] } + ["--", info.id]
        try run(arguments, setup: setup, cwd: app.snapshots.dir) { stream, line in
            if stream == "stdout", line.hasPrefix("{") {
                if line.includes("\"message_type\":\"summary\"") {
                    summary = try? JSONDecoding.decode(BackupSummary.self, from: Array(line.utf8))
                }
                return
            }
            onLine(stream, line)
        }
        return summary ?? BackupSummary()
    }

    /// `restic forget --prune` of this app's backups (its tag, all hosts and paths as one group), keeping what the
    /// app's snapshot retention keeps: `keep` as `--keep-last`, and `hourly`, `daily`, `weekly`.
    func forgetArguments() -> [String] {
        let policy = app.snapshots
        var arguments = ["forget", "--prune", "--group-by", "", "--tag", appTag, "--keep-last", "\(policy.keep)"]
        if policy.hourly > 0 { arguments += ["--keep-hourly", "\(policy.hourly)"] }
        if policy.daily > 0 { arguments += ["--keep-daily", "\(policy.daily)"] }
        if policy.weekly > 0 { arguments += ["--keep-weekly", "\(policy.weekly)"] }
        return arguments
    }

    /// Applies the retention to the repository.
    ///
    /// - Throws: ``Restic/Failure``.
    func forget(setup: Setup, onLine: (String, String) -> Void) throws(Failure) {
        try run(forgetArguments(), setup: setup, onLine: onLine)
    }

    /// This app's backups, newest first.
    ///
    /// - Throws: ``Restic/Failure``.
    func list(setup: Setup) throws(Failure) -> [BackupInfo] {
        let outcome = try run(["snapshots", "--json", "--tag", appTag], setup: setup)
        let listed: [Listed]
        do {
            listed = try JSONDecoding.decode([Listed].self, from: Array(outcome.stdout.utf8))
        } catch {
            throw Failure(description: "restic snapshots printed something other than its JSON list")
        }
        return listed.compactMap { entry -> BackupInfo? in
            guard let time = Timestamp(iso8601: entry.time) else { return nil }
            let tags = entry.tags ?? []
            func tag(_ name: String) -> String? {
                tags.first { $0.hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)) }
            }
            return BackupInfo(id: entry.id, time: time, snapshot: tag("snapshot"), commit: tag("commit"),
                              bytes: tag("bytes").flatMap { Int64($0) }, host: entry.hostname)
        }.sorted { $0.time > $1.time }
    }

    /// Whether `id` can name a backup: `latest` or 8 to 64 lowercase hex digits (an operand restic cannot
    /// take for an option).
    static func isBackupID(_ id: String) -> Bool {
        id == "latest" || ((8...64).contains(id.utf8.count)
            && id.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) })
    }

    /// `restic restore ID --target TARGET` of a backup this app made (found in ``list(setup:)``).
    ///
    /// - Throws: ``Restic/Failure``.
    func restore(_ backup: BackupInfo, into target: String, setup: Setup) throws(Failure) {
        try run(["restore", backup.id, "--target", target], setup: setup)
    }
}
