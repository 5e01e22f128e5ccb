/// A failure of SQLite on one database, with enough context to act on it.
///
/// `message` is one line for the person running shipkeep; the SQLite result code and the C function are kept
/// separately for logs and bug reports.
struct SQLiteError: Error, CustomStringConvertible {
    /// What kind of step failed.
    enum Code: Sendable, Hashable {
        /// The database could not be opened (missing, unreadable, not a database).
        case open
        /// Another connection kept the database locked for longer than the agent waits.
        case locked
        /// The database is damaged (`SQLITE_CORRUPT`, `SQLITE_NOTADB`).
        case damaged
        /// A writer crashed mid-transaction and left a hot rollback journal, which a read-only connection cannot
        /// roll back.
        case hotJournal
        /// Any other failure of a statement or of the backup.
        case failed
    }

    /// What kind of step failed.
    let code: Code
    /// The database file.
    let path: String
    /// One line: what failed and what to do next.
    let message: String
    /// The SQLite (extended) result code, when the failure came from SQLite.
    let sqliteCode: Int32?
    /// The C function that failed, e.g. `sqlite3_backup_step`.
    let function: String?

    /// Creates an error; see the properties.
    init(_ code: Code, path: String, _ message: String, sqliteCode: Int32? = nil, function: String? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.sqliteCode = sqliteCode
        self.function = function
    }

    /// The message, followed by the failing C call and its result code when there is one.
    var detail: String {
        guard let function else { return message }
        return message + " [\(function)" + (sqliteCode.map { " returned \($0)]" } ?? "]")
    }

    /// The path, then ``detail``.
    var description: String { "\(path): \(detail)" }
}
