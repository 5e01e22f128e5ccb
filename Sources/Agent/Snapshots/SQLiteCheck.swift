/// The data guard's check of a live database. Placeholder until the SQLite wrapper lands on this branch.
enum SQLiteCheck {
    /// nil when the database at `path` passes `PRAGMA quick_check`, else what is wrong.
    static func quickCheck(_ path: String) -> String? { nil }
}
