# bench/lib.sh — helpers for bench/run.sh (sourced, not run): sandbox VMs, clocks, medians, the writer.
# Expects BIN (release bin dir), WORK (scratch dir) and SEED_DIR to be set, and `pids` to be an array.

## now_us: microseconds since the epoch, without forking (bash 5's EPOCHREALTIME).
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

## median: the median of the numbers on stdin, one per line (empty input → empty output).
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

## ms US: microseconds → milliseconds with no decimals.
ms() { awk -v v="$1" 'BEGIN {printf "%.0f", v / 1000}'; }

## ratio A B: A/B as "0.42×" ("–" when either is missing).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b == 0) print "–"; else printf "%.2f×", a / b}'; }

## at_most VALUE LIMIT: "yes" or "**no**".
at_most() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "") print "–"; else print (a <= b ? "yes" : "**no**")}'; }

## stamp: prefixes every line of stdin with the time it arrived (seconds.micros), as the human renderer
## times phases.
stamp() { local line; while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }

declare -A VM_PID

## launch_vm NAME FILES KIB: starts one sandbox VM in the background.
launch_vm() {
    # Under a subreaper that reaps orphans at once, as a VM's init does (see bench/subreaper.py).
    python3 bench/subreaper.py "$BIN/shipkeep-sandbox" run --dir "$WORK/$1" --data-files "$2" --data-kib "$3" \
        --no-bot >"$WORK/$1.log" 2>&1 &
    VM_PID[$1]=$!
    pids+=($!)
}

## await_vm NAME: waits until NAME has written its sandbox.env.
await_vm() {
    local tries=0
    until [ -f "$WORK/$1/sandbox.env" ]; do
        tries=$((tries + 1))
        if [ "$tries" -gt 3000 ]; then
            cat "$WORK/$1.log" >&2
            echo "bench: sandbox $1 did not come up in 300 s (log above)" >&2
            exit 1
        fi
        sleep 0.1
    done
}

## start_vms SPEC NAME...: starts one sandbox VM per NAME (SPEC is "FILES KIB"), waits for all of them, and
## checks that each one's sshd is its own: the sandbox picks a free port and then starts sshd on it, so a
## process starting at the same time can take the port first, and the sandbox's "does it answer SSH" check is
## then answered by the other sshd. A VM whose host key does not match is started again.
start_vms() {
    local files=${1% *} kib=${1#* } name attempt; shift
    for name in "$@"; do launch_vm "$name" "$files" "$kib"; done
    for name in "$@"; do await_vm "$name"; done
    for name in "$@"; do
        for attempt in 1 2 3; do
            use_vm "$name"
            ssh_plain true 2>/dev/null && break
            [ "$attempt" = 3 ] && { echo "bench: sandbox $name: its sshd does not answer with its host key" >&2; exit 1; }
            echo "bench: sandbox $name: port $SHIPKEEP_PORT was taken by another sshd; starting it again" >&2
            kill "${VM_PID[$name]}" 2>/dev/null || true
            wait "${VM_PID[$name]}" 2>/dev/null || true
            rm -rf "${WORK:?}/$name"
            launch_vm "$name" "$files" "$kib"
            await_vm "$name"
        done
    done
}

## use_vm NAME: loads NAME's sandbox.env into shell variables (not exported, so a group deploy that reads
## shipkeep.yml is not overridden by SHIPKEEP_* in the environment).
use_vm() {
    # shellcheck disable=SC1090
    . "$WORK/$1/sandbox.env"
    VM=$1
}

## sk COMMAND ARGS...: shipkeep against the current VM, every setting as a flag.
sk() {
    local command=$1; shift
    "$BIN/shipkeep" "$command" --host "$SHIPKEEP_HOST" --port "$SHIPKEEP_PORT" --user "$SHIPKEEP_USER" \
        --identity "$SHIPKEEP_IDENTITY" --known-hosts "$SHIPKEEP_KNOWN_HOSTS" --app "$SHIPKEEP_APP" "$@"
}

## ssh_plain ARGS...: OpenSSH to the current VM with the plain (unrestricted) key.
ssh_plain() {
    ssh -T -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$SHIPKEEP_KNOWN_HOSTS" \
        -o IdentitiesOnly=yes -i "$SANDBOX_PLAIN_KEY" -p "$SHIPKEEP_PORT" "$SHIPKEEP_USER@$SHIPKEEP_HOST" "$@"
}

## push_commit MESSAGE: an empty commit on the current VM's origin, so every deploy has something to do.
push_commit() {
    git -C "$SANDBOX_DEVELOPER" -c user.name=bench -c user.email=bench@example.invalid \
        commit -q --allow-empty -m "$1"
    git -C "$SANDBOX_DEVELOPER" push -q origin HEAD:main
    COMMIT=$(git -C "$SANDBOX_DEVELOPER" rev-parse HEAD)
}

## stop_bot: stops the current VM's bot if a deploy started it, so it does not load the machine meanwhile.
stop_bot() {
    local pid
    pid=$(cat "$SANDBOX_APP_PATH/bot.pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
}

## forget_snapshots: empties the current VM's snapshot dir, so the next deploy is a first one (nothing to
## hard-link against).
forget_snapshots() { rm -rf "$WORK/$VM/vm/state/bots/snapshots"; }

## with_writer CMD...: runs CMD while ../shared/bench/writer.sh appends to a file in the data dir.
## Sets TOOK (µs), LOST and WRITTEN (lines); CMD's output goes to $WORK/last.out.
with_writer() {
    local out="$SANDBOX_APP_PATH/paper_trading_outputs/bench-writer.jsonl" writer t0 t1 stats
    rm -f "$out"
    sync  # so that no deploy pays for writing back another's dirty pages (a shipkeep snapshot ends in syncfs)
    # Its appends fail while the common recipe has moved the data dir away: those lines are lost, not noise.
    bash "$SEED_DIR/writer.sh" "$out" 2>/dev/null &
    writer=$!
    for _ in $(seq 1 200); do [ -s "$out" ] && break; sleep 0.01; done
    t0=$(now_us)
    "$@" >"$WORK/last.out" 2>&1 || echo "bench: $* failed (output in $WORK/last.out)" >&2
    t1=$(now_us)
    sleep 0.2
    kill "$writer"; wait "$writer" 2>/dev/null || true
    stats=$(grep -o '"seq":[0-9]*' "$out" | cut -d: -f2 | sort -n \
        | awk '{if (NR == 1) min = $1; max = $1; n++} END {print max - min + 1 - n, max - min + 1}')
    TOOK=$((t1 - t0))
    read -r LOST WRITTEN <<<"$stats"
}

## sk_deploy OUT: `shipkeep deploy --json` on the current VM, each line stamped on arrival into OUT, the
## controller's peak RSS (KiB) into OUT.rss.
sk_deploy() {
    /usr/bin/time -f %M -o "$1.rss" "$BIN/shipkeep" deploy --host "$SHIPKEEP_HOST" --port "$SHIPKEEP_PORT" \
        --user "$SHIPKEEP_USER" --identity "$SHIPKEEP_IDENTITY" --known-hosts "$SHIPKEEP_KNOWN_HOSTS" \
        --app "$SHIPKEEP_APP" --commit "$COMMIT" --json | stamp >"$1"
    tail -n 1 "$1" | grep -q '"type":"result","v":1}$' && tail -n 1 "$1" | grep -q '"ok":true'
}

## seed_deploy: ../shared/bench/seed-deploy.sh on the current VM over OpenSSH.
seed_deploy() {
    ssh_plain bash "$SEED_ABS/seed-deploy.sh" "$SANDBOX_APP_PATH" "$WORK/$VM-seed-backup/data"
}

## phase_us FILE PHASE: how long PHASE took in a stamped `--json` deploy log, in µs.
phase_us() {
    awk -v p="\"name\":\"$2\"" 'index($0, p) && /"state":"started"/ {s = $1}
        index($0, p) && /"state":"completed"/ {printf "%.0f\n", ($1 - s) * 1000000}' "$1"
}

## worker_rss FILE: the deploy worker's peak RSS (bytes) from a `--json` deploy log.
worker_rss() { tail -n 1 "$1" | grep -o '"workerPeakRSS":[0-9]*' | cut -d: -f2; }

## watch_rss PATTERN OUT: until killed, writes to OUT the highest VmHWM (KiB) of the first live process whose
## command line matches PATTERN (the agent sshd runs for a deploy). Polls at 10 Hz with shell builtins only.
watch_rss() {
    local pattern=$1 out=$2 pid="" key value rest peak=0
    while :; do
        if [ -z "$pid" ] || [ ! -e "/proc/$pid/status" ]; then pid=$(pgrep -f -- "$pattern" | head -n 1 || true); fi
        if [ -n "$pid" ]; then
            while read -r key value rest; do
                if [ "$key" = "VmHWM:" ] && [ "$value" -gt "$peak" ]; then peak=$value; echo "$peak" >"$out"; fi
            done <"/proc/$pid/status" 2>/dev/null || true
        fi
        sleep 0.1
    done
}
