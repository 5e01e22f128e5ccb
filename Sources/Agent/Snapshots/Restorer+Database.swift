import Shared
import Platform

/// Restoring a database: the file and its `-wal`, `-shm` and `-journal` are one thing.
///
/// SQLite finds a database's companions by name only. A `-wal` left beside a restored database would be applied
/// to it (pages of another database: a wrong or damaged one) and a `-journal` rolled back into it, so the live
/// database is never replaced alone: it and its companions are moved aside together, whole, under one new name
/// (`trades.sqlite.shipkeep-before-restore-ID-<random>` and the same with `-wal`, which SQLite opens as the
/// database that was replaced), and the snapshot's copy, self-contained, is put in place
/// (``SnapshotStore/putBack(_:of:in:as:aside:companions:unplaced:fill:)``). A database that a running process has
/// open is not restored at all.

extension Restorer {
    /// What restoring a database comes to.
    enum DatabaseAction: Equatable {
        /// The live database is the snapshot's copy, with nothing pending in a companion.
        case unchanged
        /// It differs (or is no longer a regular file) and `force` was not given.
        case kept
        /// It is missing, or differs and `force` was given.
        case restore
    }

    /// What restoring `entry` as `name` in `directory` would do.
    ///
    /// - Throws: ``FileSystemError`` when the live file cannot be examined.
    func databaseAction(_ entry: Manifest.Entry, in directory: DirectoryHandle, name: String,
                        force: Bool) throws -> DatabaseAction {
        guard let live = try directory.status(name) else { return .restore }
        guard (live.st_mode & S_IFMT) == S_IFREG else { return .kept }
        let pending = try ["-wal", "-journal"].contains { suffix in
            try directory.status(name + suffix).map { $0.st_size > 0 } ?? false
        }
        if !pending && Int64(live.st_size) == entry.size && sameContent(directory, name, entry) { return .unchanged }
        return force ? .restore : .kept
    }

    /// Refuses, before anything is written, to restore a database that a running process has open (the
    /// database, its `-wal` or its `-journal`): replacing it under the app would lose what the app writes next,
    /// or mix two databases. Only processes of the agent's own user are visible (``FileHolders``).
    ///
    /// - Throws: ``Refusal`` naming the process and how to stop it.
    func refuseDatabasesInUse(_ entries: [Manifest.Entry], force: Bool) throws {
        for entry in entries where entry.kind == .file && entry.dataKind == .sqlite {
            guard let (directory, name) = try? DirectoryHandle.parent(of: entry.path, root: app.path),
                  try databaseAction(entry, in: directory, name: name, force: force) == .restore else { continue }
            let live = app.path + "/" + entry.path
            guard let holder = FileHolders.holders(of: [live, live + "-wal", live + "-journal"]).first else { continue }
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

    /// Restores the database `entry` as `name` in `directory`: the live database and its companions are moved
    /// aside together, then the snapshot's copy is put in place.
    ///
    /// - Throws: ``FileSystemError`` when staging, moving or linking fails; what was moved aside stays there.
    func restoreDatabase(_ entry: Manifest.Entry, in directory: DirectoryHandle, name: String, force: Bool,
                         outcome: inout Outcome, warn: (String) -> Void) throws {
        switch try databaseAction(entry, in: directory, name: name, force: force) {
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
        let id = manifest.info.id
        let putBack = try store.putBack(entry, of: id, in: directory, as: name,
                                        aside: ".shipkeep-before-restore-\(id)",
                                        companions: SQLiteDatabase.companionSuffixes,
                                        unplaced: ".shipkeep-from-snapshot-\(id)")
        let aside = putBack.aside.isEmpty ? "" : "; what was there is in \(putBack.aside.joined(separator: ", "))"
        guard putBack.linked else {
            outcome.kept.append(entry.path)
            warn("\(entry.path) was created again while it was being restored and was kept; the snapshot's copy "
                + "is in \(putBack.unplaced ?? "the snapshot")" + aside)
            return
        }
        outcome.restored.append(entry.path)
        if !putBack.aside.isEmpty { warn("\(entry.path) was restored from the snapshot" + aside) }
    }
}
