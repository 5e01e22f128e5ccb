/// The data guard's check of a live database, through ``SQLiteDatabase/quickCheck(path:)``.
enum SQLiteCheck {
    /// nil when the database at `path` passes `PRAGMA quick_check`, else what is wrong.
    static func quickCheck(_ path: String) -> String? { SQLiteDatabase.quickCheck(path: path) }
}
