import CSQLite
import Platform
import Shared

/// One connection to a SQLite database: read-only to a database the app owns, or read-write to a new file of the
/// agent's own (a snapshot copy being written).
///
/// A read-only connection never writes into the app's database, and never leaves `-wal`/`-shm` files where there
/// were none. That takes care with WAL databases: SQLite's read-only connection to one creates the `-wal` and
/// `-shm` when they are missing (it reads the WAL index from the `-shm`) and leaves them behind on close. They
/// exist whenever a connection has the database open; when they are missing, no connection has, the main file
/// holds every commit, and it is read as `immutable` (no locks, no `-wal`, no `-shm`). A writer can open it
/// meanwhile, so a reader of an immutable connection checks afterwards that the file did not change
/// (``isImmutable``; ``backup(_:to:)`` does). A `-wal` without its `-shm` (left by a crash) gets a `-shm` with the
/// database's mode and owner, which the app's next connection would create all the same.
///
/// Not `Sendable`: a connection is used by one thread at a time (it is opened without SQLite's mutexes).
final class SQLiteDatabase {
    /// The suffixes of the files SQLite keeps beside a database: its write-ahead log, the WAL index and the
    /// rollback journal. A snapshot of the database is self-contained, and they are not snapshotted.
    static let companionSuffixes = ["-wal", "-shm", "-journal"]

    /// How long a statement or a backup step waits for another connection's lock before giving up: a writer
    /// holds its lock for one commit (milliseconds); seconds mean a stuck or exclusive-mode writer.
    static let busyLimit: Double = 10

    /// The C handle, valid for the lifetime of this object.
    let raw: OpaquePointer
    /// The database file.
    let path: String
    /// Whether the file is read without locks (a WAL database no connection had open): whoever reads through
    /// this connection must check that the file did not change meanwhile.
    let isImmutable: Bool
    /// Whether the file's header says WAL mode, where readers never block the writer (nor it them).
    let isWAL: Bool

    /// Opens the database at `path` read-only. No component of `path` may be a symbolic link
    /// (`SQLITE_OPEN_NOFOLLOW` checks them all): callers give a path below a resolved root.
    ///
    /// - Throws: ``SQLiteError`` (`.open`) when it cannot be opened; a file that is not a database fails at the
    ///   first statement.
    convenience init(readOnly path: String) throws(SQLiteError) {
        let wal = Self.hasWALHeader(path)
        let immutable = wal && access(path + "-wal", F_OK) != 0
        let name = immutable ? "file:" + Self.uriPath(path) + "?mode=ro&immutable=1" : path
        try self.init(name: name, path: path, immutable: immutable, wal: wal,
                      flags: SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW | (immutable ? SQLITE_OPEN_URI : 0))
    }

    /// Opens the new, empty file at `path` (which the caller created) read-write, for a copy of the agent's own:
    /// no rollback journal and no fsync, since the snapshot syncs its whole filesystem before it is complete.
    ///
    /// - Throws: ``SQLiteError``.
    convenience init(copyAt path: String) throws(SQLiteError) {
        try self.init(name: path, path: path, immutable: false, wal: false,
                      flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW)
        try execute("PRAGMA journal_mode=OFF")
        try execute("PRAGMA synchronous=OFF")
    }

    /// Opens `name` (a path, or a `file:` URI with `SQLITE_OPEN_URI`) for the database file `path` with `flags`.
    ///
    /// - Throws: ``SQLiteError`` (`.open`).
    init(name: String, path: String, immutable: Bool, wal: Bool, flags: Int32) throws(SQLiteError) {
        var handle: OpaquePointer?
        let result = sqlite3_open_v2(name, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard result == SQLITE_OK, let handle else {
            let code = handle.map { sqlite3_extended_errcode($0) } ?? result
            let detail = code == Self.cantOpenSymlink
                ? "a symbolic link is on its path (databases are opened only through real directories)"
                : handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(result))
            sqlite3_close_v2(handle)
            throw SQLiteError(.open, path: path, "cannot open the database: \(detail)", sqliteCode: code,
                              function: "sqlite3_open_v2")
        }
        raw = handle
        self.path = path
        isImmutable = immutable
        isWAL = wal
        sqlite3_extended_result_codes(raw, 1)
    }

    deinit {
        sqlite3_close_v2(raw)
    }

    /// `PRAGMA quick_check` (the b-trees and their pages, not the indexes' contents): nil when it says "ok",
    /// else one line saying what is wrong.
    ///
    /// - Throws: ``SQLiteError`` when the check cannot run (not a database, locked).
    func quickCheck() throws(SQLiteError) -> String? {
        Self.verdict(try rows("PRAGMA quick_check"))
    }

    /// `PRAGMA integrity_check` (also every index against its table): nil when it says "ok", else one line.
    ///
    /// - Throws: ``SQLiteError`` when the check cannot run.
    func integrityCheck() throws(SQLiteError) -> String? {
        Self.verdict(try rows("PRAGMA integrity_check"))
    }

    /// Whether the database at `path` opens and passes `PRAGMA quick_check`: nil when it does, else one line
    /// saying what is wrong (for the data guard after a restart). Links in the directories above the file are
    /// followed (a work tree reached through a link); the file itself must not be one.
    static func quickCheck(path: String) -> String? {
        let parent = PathName.parent(of: path)
        let resolved = (FileSystem.realPath(parent.isEmpty ? "." : parent) ?? parent) + "/"
            + PathName.lastComponent(of: path)
        do {
            return try SQLiteDatabase(readOnly: resolved).quickCheck().map { "\(path): quick_check: \($0)" }
        } catch {
            return "\(error)"
        }
    }

    /// Runs a statement that returns no rows.
    ///
    /// - Throws: ``SQLiteError``.
    func execute(_ sql: String) throws(SQLiteError) {
        _ = try rows(sql)
    }

    /// Runs `sql` and returns the first column of each row, as text, waiting out other connections' locks.
    ///
    /// - Throws: ``SQLiteError``.
    func rows(_ sql: String) throws(SQLiteError) -> [String] {
        let statement = try Statement(self, sql)
        var rows: [String] = []
        while try untilNotBusy("sqlite3_step", what: sql, { sqlite3_step(statement.raw) }) == SQLITE_ROW {
            rows.append(sqlite3_column_text(statement.raw, 0).map { String(cString: $0) } ?? "")
        }
        return rows
    }

    /// Interprets a SQLite result code: every call on this connection goes through it.
    ///
    /// - Parameters:
    ///   - result: What the C function returned.
    ///   - function: The C function's name, kept in the error.
    ///   - what: The step, for the message: the statement, "backup to …".
    /// - Returns: The code when the call succeeded (`SQLITE_OK`, `SQLITE_ROW`, `SQLITE_DONE`), or nil for
    ///   `SQLITE_BUSY` and `SQLITE_LOCKED`: not a failure, another connection holds a lock for a moment and the
    ///   call is to be repeated.
    /// - Throws: ``SQLiteError`` with the code, SQLite's message and the function name.
    func check(_ result: Int32, _ function: String, what: @autoclosure () -> String) throws(SQLiteError) -> Int32? {
        switch result & 0xff {
        case SQLITE_OK, SQLITE_ROW, SQLITE_DONE:
            return result
        case SQLITE_BUSY, SQLITE_LOCKED:
            return nil
        default:
            throw failure(result, function, what: what())
        }
    }

    /// Repeats `operation` while another connection holds a lock, backing off from 1 ms to 50 ms between tries,
    /// for at most ``busyLimit``.
    ///
    /// - Returns: The result of the call that succeeded.
    /// - Throws: ``SQLiteError``: `.locked` once the limit has passed, or the failure ``check(_:_:what:)`` found.
    func untilNotBusy(_ function: String, what: @autoclosure () -> String,
                      _ operation: () -> Int32) throws(SQLiteError) -> Int32 {
        let deadline = ContinuousClock.now + .seconds(Self.busyLimit)
        var pause: useconds_t = 1_000
        while true {
            let result = operation()
            if let done = try check(result, function, what: what()) { return done }
            guard ContinuousClock.now < deadline else {
                throw SQLiteError(.locked, path: path, "another process kept the database locked for more than "
                    + "\(Int(Self.busyLimit)) s (\(what())); is a writer stuck in a transaction, or using "
                    + "locking_mode=EXCLUSIVE?", sqliteCode: result, function: function)
            }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
    }

    /// The error for a failed call, with SQLite's own words and what to do about it.
    private func failure(_ result: Int32, _ function: String, what: String) -> SQLiteError {
        let text = String(cString: sqlite3_errstr(result))
        let message = String(cString: sqlite3_errmsg(raw))
        let detail = message == text || message == "not an error" ? text : "\(message) (\(text))"
        switch result & 0xff {
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return SQLiteError(.damaged, path: path, "the database is damaged: \(detail); recover it (sqlite3 "
                + "\"\(path)\" .recover) or move it out of the data dir", sqliteCode: result, function: function)
        case SQLITE_READONLY where result == Self.readonlyRollback:
            return SQLiteError(.hotJournal, path: path, "a writer crashed mid-transaction and left a hot journal "
                + "that only a read-write connection can roll back; open the database once with the app (or sqlite3) "
                + "and try again", sqliteCode: result, function: function)
        default:
            return SQLiteError(.failed, path: path, "\(what): \(detail)", sqliteCode: result, function: function)
        }
    }

    /// `SQLITE_READONLY_ROLLBACK` and `SQLITE_CANTOPEN_SYMLINK`, extended codes the importer does not bring in.
    private static let readonlyRollback = SQLITE_READONLY | (3 << 8)
    private static let cantOpenSymlink = SQLITE_CANTOPEN | (6 << 8)

    /// nil for a check's single "ok" row, else its first problem and how many there are.
    private static func verdict(_ rows: [String]) -> String? {
        guard rows != ["ok"] else { return nil }
        guard let first = rows.first else { return "no result" }
        return rows.count == 1 ? first : "\(first) (and \(rows.count - 1) more)"
    }

    /// Whether the file's header says WAL mode (its read and write format versions are 2).
    private static func hasWALHeader(_ path: String) -> Bool {
        let fd = Platform.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var versions: [UInt8] = [0, 0]
        let count = versions.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 2, 18) }
        return count == 2 && (versions[0] == 2 || versions[1] == 2)
    }

    /// `path` for a `file:` URI: `%`, `?` and `#` (and anything outside printable ASCII) percent-encoded.
    private static func uriPath(_ path: String) -> String {
        path.utf8.map { byte in
            byte > 0x20 && byte < 0x7f && byte != UInt8(ascii: "%") && byte != UInt8(ascii: "?")
                && byte != UInt8(ascii: "#")
                ? String(UnicodeScalar(byte)) : "%" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true)
        }.joined()
    }

    /// A prepared statement, finalized with this object. Holds its connection so it cannot be closed first.
    private final class Statement {
        let raw: OpaquePointer
        private let database: SQLiteDatabase

        init(_ database: SQLiteDatabase, _ sql: String) throws(SQLiteError) {
            var handle: OpaquePointer?
            let result = try database.untilNotBusy("sqlite3_prepare_v2", what: sql) {
                sqlite3_prepare_v2(database.raw, sql, -1, &handle, nil)
            }
            guard let handle else {
                throw SQLiteError(.failed, path: database.path, "\(sql): nothing to run", sqliteCode: result,
                                  function: "sqlite3_prepare_v2")
            }
            raw = handle
            self.database = database
        }

        deinit {
            sqlite3_finalize(raw)
        }
    }
}
