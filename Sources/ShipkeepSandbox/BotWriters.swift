/// Python bots that keep their data the ways real bots do, for the bot-data end-to-end tests: a state file replaced by
/// rename beside a CSV rewritten in place, a log rotated by `RotatingFileHandler`, and start steps of new code that
/// clobber or append to a JSONL file. Each writer numbers what it writes, so a test can count at the end what was lost
/// or duplicated. They run with Debian's python3 and its standard library only.
///
/// A writer is started by ``BotWriter`` with one argument, a path prefix outside the work tree: it writes its pid to
/// `PREFIX.pid` once its first data is on disk, every inconsistency it sees to `PREFIX.problems` (one line each), and
/// on SIGTERM finishes the write it is in and puts the last number it wrote in `PREFIX.done`.
public enum BotWriters {
    /// The interpreter the writers run with.
    public static let python = "/usr/bin/python3"

    /// Five times a second: `paper_trading_outputs/state.json` (`{"counter": N}`) replaced by a write to a new
    /// temporary file beside it (`tempfile.mkstemp`: a new name each time, as `atomicwrites` does) and `os.replace`,
    /// and `paper_trading_outputs/trades.csv` rewritten in place (`open(…, "w")`) with a header and rows 1…N.
    /// Before each write it reads both back, as a bot reloading its state would, and records any difference from
    /// what it wrote last (a file put back to an older version, or one it cannot parse).
    public static let stateAndTrades = """
        import json, os, signal, sys, tempfile, time

        prefix = sys.argv[1]
        out = "paper_trading_outputs"
        state_path = os.path.join(out, "state.json")
        trades_path = os.path.join(out, "trades.csv")
        problems = open(prefix + ".problems", "a", buffering=1)
        stopping = False

        def stop(*_):
            global stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)

        def row(n):
            return f"{n},buy,{100 + n % 7}.{n % 100:02d}"

        def check(n):
            try:
                with open(state_path) as f:
                    counter = json.load(f)["counter"]
                if counter != n:
                    problems.write(f"state.json holds counter {counter}, {n} was written last\\n")
            except Exception as error:
                problems.write(f"state.json unreadable after counter {n}: {error!r}\\n")
            with open(trades_path) as f:
                rows = f.read().split("\\n")
            if rows != ["seq,side,price"] + [row(i) for i in range(1, n + 1)] + [""]:
                problems.write(f"trades.csv has {len(rows) - 2} rows, not the {n} written last\\n")

        os.makedirs(out, exist_ok=True)
        rows = ["seq,side,price"]
        n = 0
        while not stopping:
            if n:
                check(n)
            n += 1
            descriptor, temporary = tempfile.mkstemp(dir=out, prefix=".state.json.", suffix=".tmp")
            with os.fdopen(descriptor, "w") as f:
                json.dump({"counter": n, "updated": time.time()}, f)
                f.flush()
                os.fsync(f.fileno())
            # As long as writing a large state takes: a snapshot often holds the temporary file, which is gone
            # (renamed over state.json) by the time verify and the data guard look.
            time.sleep(0.15)
            os.replace(temporary, state_path)
            rows.append(row(n))
            with open(trades_path, "w") as f:
                f.write("\\n".join(rows) + "\\n")
            if n == 1:
                with open(prefix + ".pid", "w") as f:
                    f.write(f"{os.getpid()}\\n")
            time.sleep(0.05)
        with open(prefix + ".done", "w") as f:
            f.write(f"{n}\\n")
        """

    /// The largest number of rotated files ``rotatingLog`` keeps; a test must stay below it, or the handler deletes
    /// the oldest and the count at the end is short.
    public static let rotatingLogBackups = 3000

    /// About 500 lines a second (`seq=N …`, 40 bytes each) through `logging.handlers.RotatingFileHandler` into
    /// `logs/rot.log`, with `maxBytes` 4000: it rotates about every 0.2 s, renaming `rot.log` to `rot.log.1` and
    /// every older `rot.log.K` to `rot.log.K+1`, and deletes none before ``rotatingLogBackups``.
    public static let rotatingLog = """
        import logging, logging.handlers, os, signal, sys, time

        prefix = sys.argv[1]
        stopping = False

        def stop(*_):
            global stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        os.makedirs("logs", exist_ok=True)
        handler = logging.handlers.RotatingFileHandler("logs/rot.log", maxBytes=4000,
                                                       backupCount=\(rotatingLogBackups))
        handler.setFormatter(logging.Formatter("%(message)s"))
        log = logging.getLogger("bot")
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        n = 0
        while not stopping:
            for _ in range(10):
                n += 1
                log.info("seq=%08d tick price=101.25 qty=3", n)
            if n == 10:
                with open(prefix + ".pid", "w") as f:
                    f.write(f"{os.getpid()}\\n")
            time.sleep(0.02)
        handler.close()
        with open(prefix + ".done", "w") as f:
            f.write(f"{n}\\n")
        """

    /// About 500 lines a second (`seq=N …`) appended to `logs/ct.log` through one handle opened with `"a"`, rotated
    /// about every 0.2 s the way logrotate's `copytruncate` does it: every `ct.log.K` renamed to `ct.log.K+1`, the
    /// log copied to `ct.log.1`, then truncated in place (same inode, the handle stays open). The writer rotates
    /// between two of its own writes, so unlike logrotate it loses no line in the copy: every line must be found
    /// exactly once at the end.
    public static let copyTruncatedLog = """
        import os, shutil, signal, sys, time

        prefix = sys.argv[1]
        stopping = False

        def stop(*_):
            global stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        os.makedirs("logs", exist_ok=True)
        path = "logs/ct.log"
        log = open(path, "a", buffering=1)
        n = 0
        rotations = 0
        rotated_at = time.monotonic()
        while not stopping:
            for _ in range(10):
                n += 1
                log.write(f"seq={n:08d} tick price=101.25 qty=3\\n")
            if time.monotonic() - rotated_at >= 0.2:
                for k in range(rotations, 0, -1):
                    os.rename(f"{path}.{k}", f"{path}.{k + 1}")
                shutil.copyfile(path, path + ".1")
                os.truncate(path, 0)
                rotations += 1
                rotated_at = time.monotonic()
            if n == 10:
                with open(prefix + ".pid", "w") as f:
                    f.write(f"{os.getpid()}\\n")
            time.sleep(0.02)
        log.close()
        with open(prefix + ".done", "w") as f:
            f.write(f"{n}\\n")
        """

    /// A start step for `restart.sh` (shell text, run in the work tree) of new code that clobbers its history: it
    /// truncates `paper_trading_outputs/signals_1.jsonl` (`open(…, "w")`) and overwrites
    /// `paper_trading_outputs/signals_2.jsonl` with ``clobberedLine``.
    public static let clobberOnStart = """
        \(python) - <<'EOF'
        open("paper_trading_outputs/signals_1.jsonl", "w").close()
        with open("paper_trading_outputs/signals_2.jsonl", "w") as f:
            f.write('\(clobbered)' + '\\n')
        EOF
        """

    /// A start step for `restart.sh` of new code that starts cleanly and truncates
    /// `paper_trading_outputs/signals_1.jsonl` a second later, from a detached process, writing ``clobberedLine``
    /// into it: damage done while the health checks already pass.
    public static let clobberAfterStart = """
        nohup setsid \(python) - > /dev/null 2>&1 <<'EOF' &
        import time
        time.sleep(1)
        with open("paper_trading_outputs/signals_1.jsonl", "w") as f:
            f.write('\(clobbered)' + '\\n')
        EOF
        """

    /// What ``clobberOnStart`` writes into `signals_2.jsonl`.
    public static var clobberedLine: String { clobbered + "\n" }

    private static let clobbered = #"{"seq":1,"version":"v2","fresh_start":true}"#

    /// A start step for `restart.sh` of new code that only appends ``appendedLine`` to
    /// `paper_trading_outputs/signals_1.jsonl`, as healthy code does.
    public static let appendOnStart = """
        \(python) - <<'EOF'
        with open("paper_trading_outputs/signals_1.jsonl", "a") as f:
            f.write('\(appended)' + '\\n')
        EOF
        """

    /// What ``appendOnStart`` appends.
    public static var appendedLine: String { appended + "\n" }

    private static let appended = #"{"seq":100000,"version":"v3","resumed":true}"#
}
