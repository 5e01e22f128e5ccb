/// The files of the sample "trading bot" app the sandbox deploys: a bot that appends numbered JSON lines to
/// its data dir for as long as it runs, and the restart and check scripts a deploy calls.
public enum SampleApp {
    /// The bot: appends `{"seq":N,"version":V}` to `paper_trading_outputs/signals.jsonl`, up to 800 lines a
    /// second, continuing the numbering across restarts so a lost line shows up as a gap.
    public static func bot(version: String) -> String {
        """
        #!/usr/bin/env bash
        # A stand-in trading bot: appends numbered lines to its output, forever.
        set -u
        cd "$(dirname "$0")"
        mkdir -p paper_trading_outputs logs
        out=paper_trading_outputs/signals.jsonl
        i=$(tail -n 1 "$out" 2>/dev/null | sed -n 's/.*"seq":\\([0-9]*\\).*/\\1/p')
        i=${i:-0}
        echo "bot \(version) starting after seq $i" >> logs/bot.log
        # Pauses with bash's own `read -t` on a pipe nobody writes to, instead of forking `sleep` 100 times a
        # second: dozens of sandbox bots on one machine must not eat its CPU.
        exec {nap}<> <(:)
        while true; do
          for _ in 1 2 3 4 5 6 7 8; do
            i=$((i+1))
            printf '{"seq":%d,"version":"\(version)"}\\n' "$i" >> "$out"
          done
          read -r -t 0.01 -u "$nap" || :
        done
        """
    }

    /// The shell condition "process $pid runs": it exists and is not a zombie. A bot that exited stays a zombie
    /// until init reaps it (every 1-2 s on some machines), and `kill -0` succeeds on a zombie.
    private static let running = #"kill -0 "$pid" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null"#

    /// Stops the running bot (by its pid file) and starts the current one, detached, as a deploy would.
    public static let restart = """
        #!/usr/bin/env bash
        # Restart the bot: stop the old one, start the new one in the background.
        set -u
        cd "$(dirname "$0")"
        mkdir -p logs
        if [ -f bot.pid ] && kill -0 "$(cat bot.pid)" 2>/dev/null; then
          pid=$(cat bot.pid)
          kill "$pid"
          # A zombie has exited and writes nothing more; waiting for init to reap it (every 1-2 s on some
          # machines) would only stretch the bot's downtime.
          while \(running); do
            sleep 0.01
          done
        fi
        nohup setsid ./bot.sh >> logs/bot.log 2>&1 < /dev/null &
        echo $! > bot.pid
        echo "bot restarted as pid $(cat bot.pid)"
        """

    /// Exits 0 while the bot runs.
    public static let check = """
        #!/usr/bin/env bash
        # Healthy while the bot runs. A bot that exited stays a zombie until init reaps it (every 1-2 s on
        # some machines), and kill -0 still succeeds on a zombie: it counts as dead.
        cd "$(dirname "$0")"
        [ -f bot.pid ] || exit 1
        pid=$(cat bot.pid)
        \(running)
        """

    /// The bot as a systemd unit running `bot.sh` of the work tree at `appPath`. A system unit runs it as `user`;
    /// a user unit runs as the manager's own user. Restarted 0.2 s after a crash, as bots usually are. With
    /// `startLimit`, systemd's default burst applies (5 starts) over 5 minutes instead of the default 10 s, so that
    /// a slow, loaded machine reaches the limit as surely as a fast one; without it there is none
    /// (`StartLimitIntervalSec=0`), for tests that restart it often.
    public static func unit(appPath: String, user: String?, startLimit: Bool = false) -> String {
        """
        [Unit]
        Description=sample trading bot (shipkeep sandbox)
        \(startLimit ? "StartLimitIntervalSec=300\nStartLimitBurst=5" : "StartLimitIntervalSec=0")

        [Service]
        Type=exec
        \(user.map { "User=\($0)" } ?? "")
        WorkingDirectory=\(appPath)
        ExecStart=\(appPath)/bot.sh
        Restart=on-failure
        RestartSec=0.2

        [Install]
        WantedBy=\(user == nil ? "default.target" : "multi-user.target")

        """
    }

    /// Keeps the bot's outputs and runtime files out of git.
    public static let gitignore = """
        paper_trading_outputs/
        logs/
        bot.pid
        """
}
