import CSQLite
import Platform

/// Consistent copies of live databases, through SQLite's online backup API.
extension SQLiteDatabase {
    /// Pages copied per backup step of a database in rollback-journal mode (4 MiB of 4 KiB pages). Between steps
    /// the source is unlocked, so its writer is never held up for longer than one step. A WAL database is copied
    /// in one step: its readers never block its writer, and steps would only let commits restart the copy.
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
                guard error.code == .hotJournal else { throw error }
                return try copyRollingBack(source, to: destination)
            }
            guard database.isImmutable else { return }
            if FileIdentity(path: source) == before && access(source + "-wal", F_OK) != 0 { return }
            unlink(destination)
        }
        throw SQLiteError(.locked, path: source, "the database kept changing while no connection had it open; "
            + "try again")
    }

    /// Copies a database whose writer died mid-transaction, leaving a hot journal that a read-only connection
    /// cannot roll back: the file and its journal are copied byte for byte to `destination` and
    /// `destination-journal`, where a read-write connection rolls the journal back, as the app's next connection
    /// will do to the live file. Nothing writes to a database with a hot journal before rolling it back; one
    /// that changed while it was copied (the app started) fails the copy, to be taken again.
    ///
    /// - Throws: ``SQLiteError``; no copy is left behind.
    private static func copyRollingBack(_ source: String, to destination: String) throws(SQLiteError) {
        let journal = source + "-journal"
        let before = (FileIdentity(path: source), FileIdentity(path: journal))
        defer { unlink(destination + "-journal") }
        do {
            for (from, to) in [(source, destination), (journal, destination + "-journal")] {
                let input = try FileSystem.open(from, O_RDONLY | O_NOFOLLOW)
                defer { close(input) }
                let output = try FileSystem.open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
                defer { close(output) }
                var info = stat()
                guard fstat(input, &info) == 0 else { throw FileSystemError("fstat", from) }
                try FileSystem.copy(from: input, to: output, length: Int64(info.st_size), path: to)
            }
            guard (FileIdentity(path: source), FileIdentity(path: journal)) == before else {
                throw SQLiteError(.locked, path: source, "it changed while its hot journal was being copied (the "
                    + "app opened it); try again")
            }
            let copy = try SQLiteDatabase(name: destination, path: destination, immutable: false, wal: false,
                                          flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW)
            _ = try copy.rows("PRAGMA schema_version")
        } catch let error as SQLiteError {
            unlink(destination)
            throw error
        } catch {
            unlink(destination)
            throw SQLiteError(.failed, path: source, "cannot copy it to roll its hot journal back: \(error)")
        }
    }

    /// Copies this database into a new file at `destination` (which must not exist), in steps of
    /// ``backupStepPages``, retrying a step while the source is locked.
    ///
    /// - Throws: ``SQLiteError``; `destination` may be left behind, partly written.
    func backup(to destination: String) throws(SQLiteError) {
        let fd = Platform.open(destination, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
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
            var restarts = source.isWAL || source.isImmutable ? SQLiteDatabase.backupRestartsBeforeOneStep : 0
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
