# bench/rows.sh — the measurements of bench/run.sh (sourced). Each appends its numbers with `rec KEY VALUE`
# (one value per run) under $WORK/results; bench/report.sh turns them into medians and ratios.

## rec KEY VALUE: records one run's value.
rec() { [ -n "$2" ] && echo "$2" >>"$WORK/results/$1"; return 0; }

## med KEY: the median of KEY's runs (empty when none).
med() { [ -f "$WORK/results/$1" ] && median <"$WORK/results/$1"; return 0; }

## most KEY: the largest of KEY's runs.
most() { [ -f "$WORK/results/$1" ] && sort -n "$WORK/results/$1" | tail -n 1; return 0; }

## pct KEY P: the P-th percentile (nearest rank) of KEY's runs.
pct() {
    [ -f "$WORK/results/$1" ] && sort -n "$WORK/results/$1" \
        | awk -v p="$2" '{a[NR] = $1} END {if (NR) {r = int(NR * p / 100 + 0.999); if (r < 1) r = 1; print a[r]}}'
    return 0
}

## runs KEY: how many runs KEY has.
runs() { if [ -f "$WORK/results/$1" ]; then wc -l <"$WORK/results/$1"; else echo 0; fi; }

PHASES="preflight snapshot update verify restart health"

## sk_run FIXTURE KIND: one measured shipkeep deploy of the current VM (KIND first or second), writer running.
sk_run() {
    local key="sk.$1.$2" log="$WORK/$1-$2-$(runs "sk.$1.$2.ms").jsonl" watcher="" phase
    push_commit "bench: $key"
    if [ "$1" = large ]; then
        watch_rss "serve --config $SANDBOX_AGENT_CONFIG" "$log.serve" &
        watcher=$!
    fi
    with_writer sk_deploy "$log"
    if [ -n "$watcher" ]; then kill "$watcher" 2>/dev/null || true; wait "$watcher" 2>/dev/null || true; fi
    grep -q '"ok":true' <(tail -n 1 "$log") || { cat "$WORK/last.out" "$log" >&2; echo "bench: $key failed" >&2; exit 1; }
    rec "$key.ms" "$(ms "$TOOK")"; rec "$key.lost" "$LOST"; rec "$key.written" "$WRITTEN"
    for phase in $PHASES; do rec "$key.$phase.ms" "$(ms "$(phase_us "$log" "$phase")")"; done
    rec "$key.worker.kib" "$(( $(worker_rss "$log") / 1024 ))"
    rec "$key.controller.kib" "$(cat "$log.rss")"
    [ -f "$log.serve" ] && rec "$key.serve.kib" "$(cat "$log.serve")"
    echo "bench:   shipkeep $2 deploy ($1): $(ms "$TOOK") ms, $LOST of $WRITTEN lines lost" >&2
}

## seed_run FIXTURE KIND: one measured run of the common recipe on the current VM, writer running.
seed_run() {
    push_commit "bench: seed $1 $2"
    with_writer seed_deploy
    rec "seed.$1.$2.ms" "$(ms "$TOOK")"; rec "seed.$1.$2.lost" "$LOST"; rec "seed.$1.$2.written" "$WRITTEN"
    echo "bench:   common recipe $2 deploy ($1): $(ms "$TOOK") ms, $LOST of $WRITTEN lines lost" >&2
}

## deploy_rows FIXTURE RUNS: first and second deploys, shipkeep and the common recipe interleaved so that
## load from elsewhere hits both alike. A "first" shipkeep deploy has no earlier snapshot to link against (the
## snapshot dir is emptied before it); the common recipe does the same work every time.
deploy_rows() {
    local fixture=$1 count=$2 i
    for name in "$fixture-sk" "$fixture-seed"; do use_vm "$name"; "$SANDBOX_APP_PATH/restart.sh" >/dev/null; done
    for i in $(seq 1 "$count"); do
        use_vm "$fixture-sk"; forget_snapshots; sk_run "$fixture" first
        use_vm "$fixture-seed"; seed_run "$fixture" first
        use_vm "$fixture-sk"; sk_run "$fixture" second
        use_vm "$fixture-seed"; seed_run "$fixture" second
    done
}

## timed KEY CMD...: runs CMD and records its wall time in ms under KEY.
timed() {
    local key=$1 t0; shift
    sync  # see with_writer
    t0=$(now_us)
    "$@"
    rec "$key" "$(awk -v v=$(( $(now_us) - t0 )) 'BEGIN {printf "%.1f", v / 1000}')"
}

## sk_snapshot KEY DIR: one snapshot of the current VM's data dirs into DIR by `shipkeep-agent snapshot-bench`
## (the walk and the snapshot step of a deploy, timed in-process); records scan + snapshot under KEY.
sk_snapshot() {
    local out
    sync  # see with_writer
    out=$("$BIN/shipkeep-agent" snapshot-bench --root "$SANDBOX_APP_PATH" --data paper_trading_outputs --data logs \
        --snapshots "$2")
    rec "$1.ms" "$(echo "$out" | sed -E 's/.*"scanSeconds":([0-9.e-]+).*"snapshotSeconds":([0-9.e-]+).*/\1 \2/' \
        | awk '{printf "%.1f", ($1 + $2) * 1000}')"
    rec "$1.scan.ms" "$(echo "$out" | sed -E 's/.*"scanSeconds":([0-9.e-]+).*/\1/' | awk '{printf "%.1f", $1 * 1000}')"
}

## snapshot_rows FIXTURE RUNS: shipkeep's snapshot step vs `cp -a` and `rsync -a` (full, then --link-dest
## against it) of the same data dirs, on the filesystem the snapshots live on, alternated run by run.
snapshot_rows() {
    local fixture=$1 count=$2 i dest
    use_vm "$fixture-sk"
    dest="$WORK/$fixture-copies"
    for i in $(seq 1 "$count"); do
        rm -rf "$dest"; mkdir -p "$dest/cp"
        sk_snapshot "snap.$fixture.first" "$dest/sk"
        (cd "$SANDBOX_APP_PATH" && timed "cp.$fixture.ms" cp -a paper_trading_outputs logs "$dest/cp")
        (cd "$SANDBOX_APP_PATH" && timed "rsync.$fixture.full.ms" rsync -a paper_trading_outputs logs "$dest/one/")
        sk_snapshot "snap.$fixture.second" "$dest/sk"
        (cd "$SANDBOX_APP_PATH" && timed "rsync.$fixture.linked.ms" \
            rsync -a --link-dest="$dest/one" paper_trading_outputs logs "$dest/two/")
    done
    rm -rf "$dest"
    echo "bench:   snapshot $(med "snap.$fixture.first.ms") ms, cp -a $(med "cp.$fixture.ms") ms," \
        "rsync -a $(med "rsync.$fixture.full.ms") ms; unchanged: snapshot $(med "snap.$fixture.second.ms") ms," \
        "rsync --link-dest $(med "rsync.$fixture.linked.ms") ms ($fixture)" >&2
}

## ansible_deploy: bench/ansible/deploy.yml against the current VM, over OpenSSH with the plain key.
ansible_deploy() {
    local dir="$WORK/ansible-$VM"
    mkdir -p "$dir/cp"
    cat >"$dir/inventory.yml" <<EOF
vm:
  hosts:
    sandbox:
      ansible_host: "$SHIPKEEP_HOST"
      ansible_port: $SHIPKEEP_PORT
      ansible_user: "$SHIPKEEP_USER"
      ansible_ssh_private_key_file: "$SANDBOX_PLAIN_KEY"
      ansible_ssh_common_args: "-o UserKnownHostsFile=$SHIPKEEP_KNOWN_HOSTS -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
      ansible_python_interpreter: /usr/bin/python3
      app_path: "$SANDBOX_APP_PATH"
      origin: "$(git -C "$SANDBOX_APP_PATH" remote get-url origin)"
      backup_dir: "$dir/backup-$COMMIT"
      data_dirs: [paper_trading_outputs, logs]
EOF
    # Pipelining on (the usual speed-up); a fresh ControlPersist socket dir per run, as in a new CI job; no
    # ansible.cfg from elsewhere.
    rm -rf "$dir/cp"; mkdir -p "$dir/cp"; : >"$dir/ansible.cfg"
    ANSIBLE_HOME="$dir/home" ANSIBLE_PIPELINING=True ANSIBLE_SSH_CONTROL_PATH_DIR="$dir/cp" ANSIBLE_NOCOLOR=1 \
        ANSIBLE_CONFIG="$dir/ansible.cfg" "$ANSIBLE_VENV/bin/ansible-playbook" -i "$dir/inventory.yml" -e "commit=$COMMIT" \
        bench/ansible/deploy.yml
    [ "$(git -C "$SANDBOX_APP_PATH" rev-parse HEAD)" = "$COMMIT" ]
}

## ansible_rows FIXTURE RUNS: the playbook on the shipkeep VM of FIXTURE, writer running.
ansible_rows() {
    local fixture=$1 count=$2 i
    use_vm "$fixture-sk"
    for i in $(seq 1 "$count"); do
        push_commit "bench: ansible $fixture"
        with_writer ansible_deploy
        grep -q 'failed=0' "$WORK/last.out" || { cat "$WORK/last.out" >&2; echo "bench: ansible failed" >&2; exit 1; }
        rec "ansible.$fixture.ms" "$(ms "$TOOK")"; rec "ansible.$fixture.lost" "$LOST"
        rec "ansible.$fixture.written" "$WRITTEN"
        echo "bench:   ansible deploy ($fixture): $(ms "$TOOK") ms, $LOST of $WRITTEN lines lost" >&2
    done
    rm -rf "$WORK/ansible-$VM"/backup-*
}

## status_git: the git commands the agent's status runs (Sources/Agent/Git/Git.swift head, changedTrackedPaths).
status_git() {
    git -C "$SANDBOX_APP_PATH" log -1 --format=%H%x00%s%x00%ct HEAD >/dev/null
    git -C "$SANDBOX_APP_PATH" symbolic-ref --short -q HEAD >/dev/null || true  # detached after Ansible
    git -C "$SANDBOX_APP_PATH" status --porcelain=v1 -z --untracked-files=no --ignore-submodules >/dev/null
}

## status_rows FIXTURE: `shipkeep status` and `ssh HOST true`, alternated; then one `status --watch` session
## whose per-probe time is the median gap between its consecutive results.
status_rows() {
    local fixture=$1 i log="$WORK/$1-watch.jsonl"
    use_vm "$fixture-sk"
    # A healthy VM: the bot runs, so every probe runs the checks and passes them (a CRITICAL probe would be
    # measuring something else).
    "$SANDBOX_APP_PATH/restart.sh" >/dev/null
    sk status >"$WORK/last.out" 2>&1 || { cat "$WORK/last.out" >&2; echo "bench: the $fixture VM is not OK" >&2; exit 1; }
    for i in $(seq 1 "$RUNS_PROBE"); do
        timed "ssh.$fixture.ms" ssh_plain true
        timed "status.$fixture.ms" sk status >/dev/null || true
    done
    # What the checks cost inside each probe: the agent's own timing of each (service check, freshness, data dirs).
    for i in $(seq 1 "$RUNS_PROBE"); do
        rec "statuschecks.$fixture.ms" "$(sk status --json | grep '"type":"status"' | grep -o '"seconds":[0-9.e-]*' \
            | awk -F: '{s += $2} END {printf "%.1f", s * 1000}')"
    done
    # What the agent runs for each probe besides walking the data dirs: these three git commands.
    for i in $(seq 1 "$RUNS_PROBE"); do timed "statusgit.$fixture.ms" status_git; done
    sk status --watch 0.001 --count "$WATCH_PROBES" --json | stamp >"$log" || true
    grep '"exitCode"' "$log" | awk 'NR > 1 {printf "%.0f\n", ($1 - prev) * 1000000} {prev = $1}' \
        >"$WORK/results/watch.$fixture.us"
    echo "bench:   status $(med "status.$fixture.ms") ms, ssh true $(med "ssh.$fixture.ms") ms," \
        "--watch probe $(med "watch.$fixture.us") µs, its git commands $(med "statusgit.$fixture.ms") ms," \
        "its checks $(med "statuschecks.$fixture.ms") ms ($fixture)" >&2
}

## small_change MESSAGE: a one-line change to README.md, committed and pushed on the current VM's origin.
small_change() {
    echo "$1" >>"$SANDBOX_DEVELOPER/README.md"
    git -C "$SANDBOX_DEVELOPER" -c user.name=bench -c user.email=bench@example.invalid commit -q -a -m "$1"
    git -C "$SANDBOX_DEVELOPER" push -q origin HEAD:main
    COMMIT=$(git -C "$SANDBOX_DEVELOPER" rev-parse HEAD)
}

## ship_deploy OUT: `shipkeep deploy --ship --json` of $COMMIT from the current VM's developer clone (the bundle
## is built there), each line stamped on arrival into OUT.
ship_deploy() {
    (cd "$SANDBOX_DEVELOPER" && /usr/bin/time -f %M -o "$1.rss" "$BIN/shipkeep" deploy --host "$SHIPKEEP_HOST" \
        --port "$SHIPKEEP_PORT" --user "$SHIPKEEP_USER" --identity "$SHIPKEEP_IDENTITY" \
        --known-hosts "$SHIPKEEP_KNOWN_HOSTS" --app "$SHIPKEEP_APP" --commit "$COMMIT" --ship --json) | stamp >"$1"
    tail -n 1 "$1" | grep -q '"type":"result","v":1}$' && tail -n 1 "$1" | grep -q '"ok":true'
}

## ship_rows FIXTURE RUNS: the second deploy of a small change (one line of README.md), shipped over the session
## (`--ship`: ship_tips, a bundle of what the VM lacks, its import) vs fetched by the VM as usual, alternated.
## One deploy first, so that every measured one links against a snapshot and the VM has the previous commit.
ship_rows() {
    local fixture=$1 count=$2 i kind log
    use_vm "$fixture-sk"
    grep -q '^    ship: true$' "$SANDBOX_AGENT_CONFIG" \
        || sed -i 's/^    branch: main$/    branch: main\n    ship: true/' "$SANDBOX_AGENT_CONFIG"
    "$SANDBOX_APP_PATH/restart.sh" >/dev/null
    small_change "bench: ship warm-up"
    with_writer sk_deploy "$WORK/ship-warm-up.jsonl"
    for i in $(seq 1 "$count"); do
        for kind in fetch ship; do
            small_change "bench: $kind deploy $i"
            log="$WORK/ship-$fixture-$kind-$i.jsonl"
            if [ "$kind" = ship ]; then with_writer ship_deploy "$log"; else with_writer sk_deploy "$log"; fi
            grep -q '"ok":true' <(tail -n 1 "$log") \
                || { cat "$WORK/last.out" "$log" >&2; echo "bench: $kind deploy failed" >&2; exit 1; }
            rec "ship.$fixture.$kind.ms" "$(ms "$TOOK")"; rec "ship.$fixture.$kind.lost" "$LOST"
            rec "ship.$fixture.$kind.written" "$WRITTEN"
            rec "ship.$fixture.$kind.preflight.ms" "$(ms "$(phase_us "$log" preflight)")"
        done
    done
    echo "bench:   second deploy of a small change: --ship $(med "ship.$fixture.ship.ms") ms, fetch" \
        "$(med "ship.$fixture.fetch.ms") ms ($fixture)" >&2
}

## download_fixture DIR MB: MB of bot output in DIR as JSON lines, 10 MB per file: a running sequence number, then
## one of 200000 generated trade records (prices, sizes, ids that change line by line, as a bot's do) picked at
## random, so that the data compresses like real output without Python formatting every line. What a snapshot
## download mostly carries.
download_fixture() {
    python3 - "$1" "$2" <<'PY'
import random, sys
directory, total = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
symbols = ["BTC-USD", "ETH-USD", "SOL-USD", "DOGE-USD", "XRP-USD"]
pool = ['"ts":"2026-11-25T10:%02d:%02d.%06dZ","symbol":"%s","side":"%s","px":%.2f,"qty":%.4f,"order":"%016x",'
        '"pnl":%.5f}\n' % (rng.randrange(60), rng.randrange(60), rng.randrange(10**6), rng.choice(symbols),
        rng.choice(["buy", "sell"]), 97000 + rng.gauss(0, 250), rng.random() * 3, rng.getrandbits(64),
        rng.gauss(0, 40)) for _ in range(200_000)]
seq = 0
for index in range((total + 9) // 10):
    picked = rng.choices(pool, k=72_000)
    text = "".join(['{"seq":%d,' % (seq + n) + line for n, line in enumerate(picked)])
    seq += len(picked)
    with open("%s/signals_%03d.jsonl" % (directory, index), "w") as out:
        out.write(text[:10_000_000])
PY
}

## sk_download FORMAT FILE: `shipkeep download` of the current VM's newest snapshot as FORMAT (zst, gz) to FILE,
## under GNU time (its peak RSS into FILE.rss); sets TOOK (µs).
sk_download() {
    local start
    sync
    start=$(now_us)
    /usr/bin/time -f %M -o "$2.rss" "$BIN/shipkeep" download --host "$SHIPKEEP_HOST" --port "$SHIPKEEP_PORT" \
        --user "$SHIPKEEP_USER" --identity "$SHIPKEEP_IDENTITY" --known-hosts "$SHIPKEEP_KNOWN_HOSTS" \
        --app "$SHIPKEEP_APP" --format "$1" -o "$2" >"$WORK/last.out" 2>&1 \
        || { cat "$WORK/last.out" >&2; echo "bench: download as $1 failed" >&2; exit 1; }
    TOOK=$(( $(now_us) - start ))
}

## download_rows RUNS: one snapshot of DOWNLOAD_JSON_MB of JSON lines plus the VM's random files, downloaded
## (verified, as always) as .tar.zst and as .tar.gz, alternated run by run: wall time, archive size, peak RSS.
download_rows() {
    local count=$1 i format file
    use_vm download
    download_fixture "$SANDBOX_APP_PATH/paper_trading_outputs" "$DOWNLOAD_JSON_MB"
    push_commit "bench: download"
    sk deploy --commit "$COMMIT" >"$WORK/last.out" 2>&1 || { cat "$WORK/last.out" >&2; exit 1; }
    stop_bot
    DOWNLOAD_BYTES=$(du -sb --apparent-size "$SANDBOX_APP_PATH/paper_trading_outputs" "$SANDBOX_APP_PATH/logs" \
        | awk '{s += $1} END {print s}')
    for i in $(seq 1 "$count"); do
        for format in zst gz; do
            file=$WORK/download.tar.$format
            sk_download "$format" "$file"
            rec "download.$format.ms" "$(ms "$TOOK")"
            rec "download.$format.bytes" "$(stat -c %s "$file")"
            rec "download.$format.controller.kib" "$(cat "$file.rss")"
            echo "bench:   download as .tar.$format: $(ms "$TOOK") ms, $(stat -c %s "$file") bytes" >&2
            rm -f "$file" "$file.rss"
        done
    done
}
## du_bytes PATH...: the disk PATH uses, in bytes (allocated blocks; a hard-linked inode counted once).
du_bytes() { { du -scB1 "$@" 2>/dev/null || true; } | tail -n 1 | cut -f1; }

## file_bytes FILE: FILE's size in bytes (0 when missing).
file_bytes() { stat -c %s "$1" 2>/dev/null || echo 0; }

## grow_jsonl FILE MB: appends about MB megabytes of JSON lines to FILE, random (base64 of /dev/urandom), so that
## neither shipkeep, rsync nor restic can dedup or compress away more than base64's redundancy.
grow_jsonl() {
    # Whole lines only: the partial last line is dropped (the writers upstream end on SIGPIPE, as intended).
    ( (base64 -w 96 /dev/urandom || true) | sed 's/^/{"bench":"growing","d":"/; s/$/"}/' || true) \
        | head -c "$(($2 * 1000000))" | head -n -1 >>"$1"
}

## newest_snapshot DIR: the path of the newest complete snapshot in DIR (by its manifest's mtime).
newest_snapshot() { dirname "$(ls -t "$1"/*/manifest.json | head -n 1)"; }

## growing_rows: issue 14's fixture — one JSONL file of GROWING's MB that the bot appends to (GROWING's last
## number of MB between deploys) plus GROWING's count of small files — deployed 5 times with `keep: 5`. After each
## shipkeep deploy, the same data dirs are copied by `rsync -a --link-dest` against its previous copy, and the
## new shipkeep snapshot is backed up by `restic backup` into one local repository. Records times, the disk each
## adds (du: a hard-linked file counted once), and the sizes after the 5 runs.
growing_rows() {
    local mb=${GROWING%% *} rest=${GROWING#* } files add i log snaps data before after appended jsonl copies repo
    files=${rest%% *}; add=${rest#* }
    echo "bench: starting the growing VM ($mb MB JSONL, $files small files, $add MB appended per deploy)" >&2
    start_vms "$files 1" growing-sk
    use_vm growing-sk
    sed -i -E 's/keep: [0-9]+ }/keep: 5 }/' "$SANDBOX_AGENT_CONFIG"
    jsonl="$SANDBOX_APP_PATH/paper_trading_outputs/growing.jsonl"
    grow_jsonl "$jsonl" "$mb"
    data="$SANDBOX_APP_PATH/paper_trading_outputs $SANDBOX_APP_PATH/logs"
    "$SANDBOX_APP_PATH/restart.sh" >/dev/null
    forget_snapshots
    snaps="$WORK/growing-sk/vm/state/bots/snapshots"
    copies="$WORK/growing-rsync"
    repo="$WORK/growing-restic"
    mkdir -p "$copies"
    echo "bench-only password" >"$WORK/restic.pw"
    export RESTIC_PASSWORD_FILE="$WORK/restic.pw" RESTIC_CACHE_DIR="$WORK/restic-cache"
    restic init -q --repo "$repo" >/dev/null
    for i in 1 2 3 4 5; do
        appended=0
        if [ "$i" -gt 1 ]; then
            before=$(file_bytes "$jsonl")
            grow_jsonl "$jsonl" "$add"
            appended=$(($(file_bytes "$jsonl") - before))
            rec growing.appended "$appended"
        fi
        push_commit "bench: growing $i"
        log="$WORK/growing-$i.jsonl"
        sync
        before=$(du_bytes "$snaps")
        with_writer sk_deploy "$log"
        grep -q '"ok":true' <(tail -n 1 "$log") || { cat "$WORK/last.out" "$log" >&2; echo "bench: growing $i failed" >&2; exit 1; }
        rec "growing.sk.$i.ms" "$(ms "$TOOK")"; rec "growing.sk.$i.lost" "$LOST"; rec "growing.sk.$i.written" "$WRITTEN"
        for phase in $PHASES; do rec "growing.sk.$i.$phase.ms" "$(ms "$(phase_us "$log" "$phase")")"; done
        rec "growing.sk.$i.disk" "$(($(du_bytes "$snaps") - before))"
        stop_bot
        # rsync of the same data (the writer's file included), linked against its previous copy.
        before=$(du_bytes "$copies")
        if [ "$i" = 1 ]; then
            (cd "$SANDBOX_APP_PATH" && timed "growing.rsync.$i.ms" rsync -a paper_trading_outputs logs "$copies/$i/")
        else
            (cd "$SANDBOX_APP_PATH" && timed "growing.rsync.$i.ms" \
                rsync -a --link-dest="$copies/$((i - 1))" paper_trading_outputs logs "$copies/$i/")
        fi
        rec "growing.rsync.$i.disk" "$(($(du_bytes "$copies") - before))"
        # restic backup of the snapshot just taken, into one repository.
        before=$(du_bytes "$repo")
        timed "growing.restic.$i.ms" restic backup -q --repo "$repo" "$(newest_snapshot "$snaps")" >/dev/null
        rec "growing.restic.$i.disk" "$(($(du_bytes "$repo") - before))"
        echo "bench:   growing deploy $i: shipkeep $(ms "$TOOK") ms (+$(med "growing.sk.$i.disk") B of snapshot)," \
            "rsync $(med "growing.rsync.$i.ms") ms (+$(med "growing.rsync.$i.disk") B)," \
            "restic $(med "growing.restic.$i.ms") ms (+$(med "growing.restic.$i.disk") B), appended $appended B" >&2
        "$SANDBOX_APP_PATH/restart.sh" >/dev/null
    done
    # shellcheck disable=SC2086
    rec growing.data "$(du_bytes $data)"
    rec growing.sk.dir "$(du_bytes "$snaps")"
    rec growing.rsync.dir "$(du_bytes "$copies")"
    rec growing.restic.dir "$(du_bytes "$repo")"
    rec growing.snapshots "$(ls "$snaps" | grep -vc partial || true)"
    for i in 2 3 4 5; do
        rec growing.sk.later.disk "$(med "growing.sk.$i.disk")"
        rec growing.rsync.later.disk "$(med "growing.rsync.$i.disk")"
        rec growing.restic.later.disk "$(med "growing.restic.$i.disk")"
        rec growing.sk.later.ms "$(med "growing.sk.$i.ms")"
        rec growing.rsync.later.ms "$(med "growing.rsync.$i.ms")"
        rec growing.restic.later.ms "$(med "growing.restic.$i.ms")"
    done
    unset RESTIC_PASSWORD_FILE RESTIC_CACHE_DIR
    stop_bot
    rm -rf "$copies" "$repo" "$WORK/restic-cache"
}
