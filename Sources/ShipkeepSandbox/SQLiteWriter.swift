import Foundation
import Platform

/// A stand-in bot that keeps its data in SQLite: a `python3` process inserting one row per transaction, each with
/// its own sequence number, every few milliseconds, and logging each sequence number once it is committed. A row
/// lost anywhere (a torn snapshot, a "repair", a restore beside a stale `-wal`) shows up as a gap, or as a logged
/// sequence number missing from the database.
public final class SQLiteWriter {
    /// The journal modes bots use.
    public enum Mode: String, Sendable, CaseIterable, CustomStringConvertible {
        /// The default rollback journal (`-journal`, deleted at each commit).
        case rollback = "delete"
        /// Write-ahead logging (`-wal` and `-shm`), as freqtrade's `tradesv3.sqlite`.
        case wal

        public var description: String { self == .wal ? "WAL" : "rollback journal" }
    }

    /// The writer. Arguments: database, journal mode, log, pause between commits in ms. It continues the
    /// numbering of an existing database. SIGTERM ends it between transactions.
    public static let script = #"""
        import os, signal, sqlite3, sys, time
        path, mode, log, pause = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]) / 1000
        stop = False
        def ask_stop(signum, frame):
            global stop
            stop = True
        signal.signal(signal.SIGTERM, ask_stop)
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=" + mode)
        db.execute("CREATE TABLE IF NOT EXISTS trades (seq INTEGER PRIMARY KEY, pair TEXT, payload TEXT)")
        seq = db.execute("SELECT coalesce(max(seq), 0) FROM trades").fetchone()[0]
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        while not stop:
            seq += 1
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO trades VALUES (?, ?, ?)", (seq, "BTC/USDT", "x" * (seq % 400)))
            db.execute("COMMIT")
            os.write(out, b"%d\n" % seq)
            time.sleep(pause)
        db.close()
        """#

    /// What a database holds, as `python3`'s sqlite3 module reads it.
    public struct Contents: Sendable {
        /// The sequence numbers, in order.
        public var seqs: [Int]
        /// `PRAGMA integrity_check`'s rows joined ("ok" when whole).
        public var integrity: String

        /// How many of the committed rows 1…`last` the database does not hold: rows lost.
        public func lost(upTo last: Int) -> Int {
            guard last > 0 else { return 0 }
            let present = Set(seqs)
            return (1...last).filter { !present.contains($0) }.count
        }

        /// Whether the rows are 1…N without a gap or a duplicate.
        public var isContiguous: Bool { seqs.isEmpty || seqs == Array(1...seqs.count) }
    }

    /// The database file.
    public let path: String
    /// The log of committed sequence numbers.
    public let logPath: String
    private let process: BackgroundProcess

    /// Starts a writer on `path` in `mode`, its script and log beside `scratch` (outside the data dirs).
    ///
    /// - Throws: ``SandboxError`` when python3 cannot start or the first row is not committed within 20 s.
    public init(path: String, mode: Mode, scratch: String, pauseMilliseconds: Int = 3) throws {
        self.path = path
        logPath = scratch + "/writer-\((path as NSString).lastPathComponent).log"
        let script = scratch + "/sqlite-writer.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        process = try BackgroundProcess(["python3", script, path, mode.rawValue, logPath, String(pauseMilliseconds)],
                                        outputPath: scratch + "/writer.err")
        try waitForCommits(beyond: 0)
    }

    /// The writer's process id.
    public var pid: Int32 { process.pid }

    /// The last sequence number the writer logged as committed (0 before the first).
    public func lastCommitted() -> Int {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").last.flatMap { Int($0) } ?? 0
    }

    /// Waits until the writer has committed past `seq`.
    ///
    /// - Throws: ``SandboxError`` when it has not within `timeout` seconds, or has exited.
    public func waitForCommits(beyond seq: Int, timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while lastCommitted() <= seq {
            guard process.isRunning else { throw SandboxError("the SQLite writer exited: \(errors())") }
            guard Date() < deadline else { throw SandboxError("the SQLite writer committed nothing past \(seq)") }
            usleep(2_000)
        }
    }

    /// Stops the writer (between two transactions) and waits for it to exit. Returns the last committed seq.
    @discardableResult
    public func stop() -> Int {
        process.stop(grace: 10)
        return lastCommitted()
    }

    /// Kills the writer outright (SIGKILL), as a crash would: in WAL mode its `-wal` keeps the commits not yet
    /// checkpointed into the database. Returns the last committed seq.
    @discardableResult
    public func kill() -> Int {
        Platform.kill(process.pid, SIGKILL)
        process.stop(grace: 10)
        return lastCommitted()
    }

    /// Whether it still runs.
    public var isRunning: Bool { process.isRunning }

    private func errors() -> String {
        (try? String(contentsOfFile: (logPath as NSString).deletingLastPathComponent + "/writer.err",
                     encoding: .utf8)) ?? ""
    }

    /// Reads the database at `path` with python3: its rows and `PRAGMA integrity_check`. `immutable` for a
    /// snapshot's copy, which must not be given `-wal`/`-shm` files by the reading.
    ///
    /// - Throws: ``SandboxError`` when python3 cannot read it.
    public static func contents(of path: String, immutable: Bool = false) throws -> Contents {
        let reader = """
            import sqlite3, sys, urllib.parse
            mode = "?mode=ro&immutable=1" if sys.argv[2] == "1" else "?mode=ro"
            uri = "file:" + urllib.parse.quote(sys.argv[1]) + mode
            db = sqlite3.connect(uri, uri=True)
            print(" ".join(str(row[0]) for row in db.execute("SELECT seq FROM trades ORDER BY seq")))
            print("; ".join(row[0] for row in db.execute("PRAGMA integrity_check")))
            """
        let result = try runProcess(["python3", "-c", reader, path, immutable ? "1" : "0"])
        guard result.status == 0 else { throw SandboxError("cannot read \(path): \(result.stderr)") }
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 2 else { throw SandboxError("unexpected output reading \(path): \(result.stdout)") }
        return Contents(seqs: lines[0].split(separator: " ").compactMap { Int($0) }, integrity: String(lines[1]))
    }
}
