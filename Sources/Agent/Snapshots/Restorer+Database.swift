import Foundation
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// Restoring a database: the file and its `-wal`, `-shm` and `-journal` are one thing.
///
/// SQLite finds a database's companions by name only. A `-wal` left beside a restored database would be applied
/// to it (pages of another database: a wrong or damaged one) and a `-journal` rolled back into it, so the live
/// database is never replaced alone: it and its companions are moved aside together, to names that keep them
/// together (`trades.sqlite.shipkeep-before-restore-ID` and `…-ID-wal`, which SQLite opens as the database that
/// was replaced), and only then is the snapshot's copy, self-contained, renamed into place. A database that a
/// running process has open is not restored at all.
extension Restorer {
    /// What restoring a database comes to.
    enum DatabaseAction: Equatable {
        /// The live database is the snapshot's copy, with nothing pending in a companion.
        case unchanged
        /// It differs and `force` was not given.
        case kept
        /// It is missing, or differs and `force` was given.
        case restore
    }

    /// What restoring `entry` over `live` would do.
    ///
    /// - Throws: ``FileSystemError`` when the live file cannot be examined.
    func databaseAction(_ entry: Manifest.Entry, live: String, force: Bool) throws -> DatabaseAction {
        guard try FileSystem.lstatIfExists(live) != nil else { return .restore }
        let pending = try ["-wal", "-journal"].contains { suffix in
            try FileSystem.lstatIfExists(live + suffix).map { $0.st_size > 0 } ?? false
        }
        if !pending && sameContent(live, entry) { return .unchanged }
        return force ? .restore : .kept
    }

    /// Refuses, before anything is written, to restore a database that a running process has open (the
    /// database, its `-wal` or its `-journal`): replacing it under the app would lose what the app writes next,
    /// or mix two databases. Only processes of the agent's own user are visible (``FileHolders``).
    ///
    /// - Throws: ``Refusal`` naming the process and how to stop it.
    func refuseDatabasesInUse(_ entries: [Manifest.Entry], force: Bool) throws {
        for entry in entries where entry.kind == .file && entry.dataKind == .sqlite {
            let live = app.path + "/" + entry.path
            guard try databaseAction(entry, live: live, force: force) == .restore,
                  let holder = FileHolders.holders(of: [live, live + "-wal", live + "-journal"]).first else { continue }
            throw Refusal(description: "refusing to restore \(entry.path): it is open in process \(holder.pid) "
                + "(\(holder.command)); stop the app first (systemctl stop its unit, or kill \(holder.pid) if a "
                + "restart script started it), then restore again — nothing was changed")
        }
    }

    /// The entries without the companions of the databases among them: snapshots taken before databases were
    /// backed up hold `-wal`, `-shm` and `-journal` files, which must not be put back beside a restored copy.
    func withoutDatabaseCompanions(_ entries: [Manifest.Entry]) -> [Manifest.Entry] {
        let databases = Set(entries.filter { $0.kind == .file && $0.dataKind == .sqlite }.map(\.path))
        return entries.filter { entry in
            !SQLiteDatabase.companionSuffixes.contains { suffix in
                entry.path.hasSuffix(suffix) && databases.contains(String(entry.path.dropLast(suffix.count)))
            }
        }
    }

    /// Restores the database `entry` at `live`: moves the live database and its companions aside together, then
    /// renames the snapshot's copy into place.
    ///
    /// - Throws: ``FileSystemError`` when staging, moving or renaming fails; what was moved aside stays there.
    func restoreDatabase(_ entry: Manifest.Entry, live: String, force: Bool, outcome: inout Outcome,
                         warn: (String) -> Void) throws {
        switch try databaseAction(entry, live: live, force: force) {
        case .unchanged:
            outcome.unchanged += 1
            return
        case .kept:
            outcome.kept.append(entry.path)
            warn("\(entry.path) differs from the snapshot and was kept (use --force to replace it and its "
                + "-wal/-journal, with the app stopped)")
            return
        case .restore:
            break
        }
        let temp = try store.stage(entry, of: manifest.info.id, besides: live)
        let present = try ([""] + SQLiteDatabase.companionSuffixes).filter {
            try FileSystem.lstatIfExists(live + $0) != nil
        }
        let aside: [String]
        do {
            aside = try moveAside(present, of: live)
            guard rename(temp, live) == 0 else { throw FileSystemError("rename", live) }
        } catch {
            unlink(temp)
            throw error
        }
        FileSystem.syncDirectory(of: live)
        outcome.restored.append(entry.path)
        guard !aside.isEmpty else { return }
        let name = (live as NSString).lastPathComponent
        let before = present.map { name + $0 }.joined(separator: ", ")
        warn("\(entry.path) was restored from the snapshot; what was there (\(before)) was moved aside to "
            + aside.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))
    }

    /// Moves `live` + each of `suffixes` to `live.shipkeep-before-restore-ID[-N]` + the same suffix, for the first
    /// N at which none of the database's names is taken. Each new name is reserved with `O_CREAT | O_EXCL |
    /// O_NOFOLLOW` before the rename replaces the empty placeholder, so nothing is ever overwritten.
    ///
    /// - Returns: The new paths, in the order of `suffixes`.
    /// - Throws: ``FileSystemError``; placeholders not yet renamed over are removed.
    private func moveAside(_ suffixes: [String], of live: String) throws -> [String] {
        guard !suffixes.isEmpty else { return [] }
        let base = live + ".shipkeep-before-restore-" + manifest.info.id
        var attempt = 1
        while true {
            guard attempt <= 1000 else { throw FileSystemError("open", base + "-\(attempt)", EEXIST) }
            let stem = attempt == 1 ? base : base + "-\(attempt)"
            attempt += 1
            let others = ([""] + SQLiteDatabase.companionSuffixes).filter { !suffixes.contains($0) }
            guard others.allSatisfy({ access(stem + $0, F_OK) != 0 && errno == ENOENT }) else { continue }
            var reserved: [String] = []
            var taken = false
            for suffix in suffixes {
                let fd = Glibc.open(stem + suffix, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else {
                    let failure = FileSystemError("open", stem + suffix)
                    for path in reserved { unlink(path) }
                    guard failure.code == EEXIST else { throw failure }
                    taken = true
                    break
                }
                close(fd)
                reserved.append(stem + suffix)
            }
            if taken { continue }
            for (index, suffix) in suffixes.enumerated() where rename(live + suffix, reserved[index]) != 0 {
                let failure = FileSystemError("rename", live + suffix)
                for path in reserved[index...] { unlink(path) }
                throw failure
            }
            return reserved
        }
    }
}
