import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// Consistent copies of live databases, through SQLite's online backup API.
extension SQLiteDatabase {
    /// Pages copied per backup step (4 MiB of 4 KiB pages). Between steps the source is unlocked, so a writer in
    /// rollback-journal mode is never held up for longer than one step.
    static let backupStepPages: Int32 = 1024

    /// A backup that restarted this often (a writer committed between its steps each time) finishes in one step.
    static let backupRestartsBeforeOneStep = 2

    /// Copies the live database at `source` into a new file at `destination`: a consistent database holding
    /// every transaction committed before the copy's last step, whatever the journal mode, with its `-wal`'s
    /// commits in it. The source is opened read-only and never written.
    ///
    /// A WAL database that no connection had open is read without locks (see ``SQLiteDatabase``); if it changed
    /// while it was read (a writer opened it), the copy is thrown away and taken again.
    ///
    /// - Throws: ``SQLiteError``: a damaged source, a lock held too long, a failed write; `destination` is
    ///   removed first.
    static func backup(_ source: String, to destination: String) throws(SQLiteError) {
        for _ in 0..<3 {
            let before = FileIdentity(path: source)
            let database = try SQLiteDatabase(readOnly: source)
            do {
                try database.backup(to: destination)
            } catch {
                unlink(destination)
                throw error
            }
            guard database.isImmutable else { return }
            if FileIdentity(path: source) == before && access(source + "-wal", F_OK) != 0 { return }
            unlink(destination)
        }
        throw SQLiteError(.locked, path: source, "the database kept changing while no connection had it open; "
            + "try again")
    }

    /// Copies this database into a new file at `destination` (which must not exist), in steps of
    /// ``backupStepPages``, retrying a step while the source is locked.
    ///
    /// - Throws: ``SQLiteError``; `destination` may be left behind, partly written.
    func backup(to destination: String) throws(SQLiteError) {
        let fd = Glibc.open(destination, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SQLiteError(.open, path: destination, "cannot create the copy: \(String(cString: strerror(errno)))",
                              function: "open")
        }
        close(fd)
        let copy = try SQLiteDatabase(copyAt: destination)
        try Backup(from: self, to: copy).run()
    }

    /// One `sqlite3_backup`, finished with this object. Holds both connections so neither is closed first.
    private final class Backup {
        private let raw: OpaquePointer
        private let source: SQLiteDatabase
        private let destination: SQLiteDatabase

        init(from source: SQLiteDatabase, to destination: SQLiteDatabase) throws(SQLiteError) {
            guard let handle = sqlite3_backup_init(destination.raw, "main", source.raw, "main") else {
                _ = try destination.check(sqlite3_errcode(destination.raw), "sqlite3_backup_init",
                                          what: "backup of \(source.path)")
                throw SQLiteError(.failed, path: source.path, "cannot start the backup",
                                  function: "sqlite3_backup_init")
            }
            raw = handle
            self.source = source
            self.destination = destination
        }

        deinit {
            sqlite3_backup_finish(raw)
        }

        /// Steps until the copy is complete. A writer's commit between two steps restarts the copy from its first
        /// page (SQLite notices the change); after ``backupRestartsBeforeOneStep`` restarts the rest is copied in
        /// one step, under one read transaction.
        func run() throws(SQLiteError) {
            var restarts = 0
            var copied: Int32 = 0
            while true {
                let pages = restarts >= SQLiteDatabase.backupRestartsBeforeOneStep ? -1 : SQLiteDatabase.backupStepPages
                let result = try source.untilNotBusy("sqlite3_backup_step", what: "backup to \(destination.path)") {
                    sqlite3_backup_step(raw, pages)
                }
                if result == SQLITE_DONE { return }
                let done = sqlite3_backup_pagecount(raw) - sqlite3_backup_remaining(raw)
                if done <= copied { restarts += 1 }
                copied = done
            }
        }
    }
}
