# bench/report.sh — docs/BENCHMARKS.md from the numbers bench/run.sh recorded (sourced; `report` prints it).

## t MS: a duration for the tables ("840 ms", "12.3 s"; "–" when missing).
t() { awk -v v="$1" 'BEGIN {if (v == "") print "–"; else if (v < 100) printf "%.1f ms", v; else if (v < 10000) printf "%.0f ms", v; else printf "%.1f s", v / 1000}'; }

## mib KIB: KiB as MiB with one decimal.
mib() { awk -v v="$1" 'BEGIN {if (v == "") print "–"; else printf "%.1f MiB", v / 1024}'; }

## quotient A B: A/B as a plain number (for comparing with a target).
quotient() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b == 0) print ""; else printf "%.4f", a / b}'; }

## lost KEY: "L of W" summed over KEY's runs.
lost() {
    local l w
    l=$(awk '{s += $1} END {print s + 0}' "$WORK/results/$1.lost" 2>/dev/null || echo 0)
    w=$(awk '{s += $1} END {print s + 0}' "$WORK/results/$1.written" 2>/dev/null || echo 0)
    echo "$l of $w"
}

## size SPEC: "100 files × 100 KiB (9.8 MiB)".
size() { awk -v f="${1% *}" -v k="${1#* }" 'BEGIN {printf "%d files × %d KiB (%.1f MiB)", f, k, f * k / 1024}'; }

## target_row NAME MEASURED VALUE LIMIT [LIMIT_TEXT]: one row of the targets table (VALUE ≤ LIMIT is met).
target_row() { echo "| $1 | $2 | ≤ ${5:-$4} | $(at_most "$3" "$4") |"; }

machine() {
    local cpu mem
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
    echo "| | |"
    echo "|---|---|"
    echo "| CPU | $cpu, $(nproc) cores |"
    echo "| RAM | $mem |"
    echo "| kernel | $(uname -sr) |"
    echo "| Swift | $(swift --version 2>&1 | grep -m1 -o 'Swift version [^ ]*') (release build) |"
    echo "| OpenSSH | $(ssh -V 2>&1 | cut -d, -f1) |"
    echo "| rsync, ansible-core | $(rsync --version | head -n 1 | awk '{print $3}'), $("$ANSIBLE_VENV/bin/ansible-playbook" --version | head -n 1 | grep -o '[0-9][0-9.]*') |"
    echo "| restic | $(restic version 2>/dev/null | awk '{print $2}') |"
    echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
    echo "| load average (1 min) | $load_before before; $(load_during) during; $load_after after |"
    echo "| duration of the run | $((took_s / 60)) min $((took_s % 60)) s (\`make bench\`, build already done) |"
}

## load_during: mean and max of the 1-minute load average sampled every 10 s during the run.
load_during() { awk '{s += $1; if ($1 > m) m = $1} END {if (NR) printf "mean %.2f, max %.2f", s / NR, m}' "$WORK/load"; }

## target_ratio NAME KEY_A KEY_B LIMIT: a target on the ratio of two medians (met when A/B ≤ LIMIT).
target_ratio() {
    local a b
    a=$(med "$2"); b=$(med "$3")
    target_row "$1" "$(t "$a") / $(t "$b") = $(ratio "$a" "$b")" "$(quotient "$a" "$b")" "$4" "$4×"
}

## target_rss NAME PROCESS LIMIT_MIB: a target on the highest peak RSS of PROCESS over the large deploys.
target_rss() {
    local kib
    kib=$(most_of "$2")
    target_row "$1" "$(mib "$kib")" "$(awk -v v="$kib" 'BEGIN {if (v != "") print v / 1024}')" "$3" "$3 MiB"
}

## most_of PROCESS: the highest peak RSS (KiB) of PROCESS (worker, serve, controller) over the large deploys.
most_of() {
    cat "$WORK/results/sk.large.first.$1.kib" "$WORK/results/sk.large.second.$1.kib" 2>/dev/null \
        | sort -n | tail -n 1
}

## name FIXTURE: the fixture's name in the tables ("10 MB").
name() { if [ "$1" = large ]; then echo "$LARGE_NAME"; else echo "$SMALL_NAME"; fi; }

targets() {
    local big=$LARGE_NAME fixture watch
    echo "| target | measured (medians) | target | met? |"
    echo "|---|---|---|---|"
    target_ratio "second deploy, $big: shipkeep / common recipe" sk.large.second.ms seed.large.second.ms 0.25
    target_ratio "first deploy, $big: shipkeep / common recipe" sk.large.first.ms seed.large.first.ms 1.0
    target_ratio "snapshot of unchanged data, $big: shipkeep / \`rsync -a --link-dest\`" \
        snap.large.second.ms rsync.large.linked.ms 1.0
    target_ratio "\`shipkeep status\` / \`ssh HOST true\` ($SMALL_NAME)" status.small.ms ssh.small.ms 1.2
    watch=$(med watch.small.us)
    target_row "one probe of \`status --watch\` ($SMALL_NAME)" "$(watch_spread small)" \
        "$(awk -v v="$watch" 'BEGIN {if (v != "") print v / 1000}')" 20 "20 ms"
    target_ratio "$FLEET_MAX hosts @ \`--parallel $FLEET_MAX\` / 1 host, all VMs sharing 2 cores" \
        "fleet.$FLEET_MAX.$FLEET_MAX.ms" fleet.1.1.ms 3
    target_ratio "$FLEET_MAX hosts @ \`--parallel $FLEET_MAX\` / 1 host, every VM held to $(cap_share) ([§4](#4-fleet-shipkeep-deploy-group---parallel-n))" \
        "fleet.capped.$FLEET_MAX.ms" fleet.capped.1.ms 3
    target_rss "agent peak RSS, $big: deploy worker" worker 64
    target_rss "agent peak RSS, $big: serving agent (\`serve\`)" serve 64
    target_rss "controller peak RSS, $big" controller 32
    for fixture in small large; do
        target_ratio "second deploy, $(name $fixture): shipkeep / Ansible playbook (≥ 5× faster)" \
            "sk.$fixture.second.ms" "ansible.$fixture.ms" 0.2
    done
    target_ratio "second deploy of a small change, $SMALL_NAME: \`--ship\` / fetched by the VM ([§7](#7-shipping-the-code-over-ssh-deploy---ship))" \
        ship.small.ship.ms ship.small.fetch.ms 1.3
    target_row "\`shipkeep download\` of $(mb "$DOWNLOAD_BYTES") as \`.tar.zst\`, verified ([§8](#8-download-tarzst-vs-targz))" \
        "$(t "$(med download.zst.ms)") (\`.tar.gz\`: $(t "$(med download.gz.ms)"))" \
        "$(awk -v v="$(med download.zst.ms)" 'BEGIN {if (v != "") print v / 1000}')" \
        "$([ "$DOWNLOAD_JSON_MB" -ge 900 ] && echo 8 || echo "")" "8 s (1 GB)"
    growing_targets
}

## mb BYTES: bytes as MB (10^6) with no decimals.
mb() { awk -v v="$1" 'BEGIN {if (v == "") print "–"; else printf "%.0f MB", v / 1e6}'; }

downloads() {
    local format rate
    echo "| format | wall (median) | archive | of the snapshot | rate | controller peak RSS |"
    echo "|---|---|---|---|---|---|"
    for format in zst gz; do
        rate=$(awk -v b="$DOWNLOAD_BYTES" -v ms="$(med "download.$format.ms")" \
            'BEGIN {if (b != "" && ms != "") printf "%.0f MB/s", b / 1e3 / ms; else print "–"}')
        echo "| \`.tar.$format\` | $(t "$(med "download.$format.ms")") | $(mb "$(med "download.$format.bytes")") |" \
            "$(awk -v a="$(med "download.$format.bytes")" -v b="$DOWNLOAD_BYTES" \
                'BEGIN {if (a != "" && b != "") printf "%.0f%%", a * 100 / b; else print "–"}') | $rate |" \
            "$(mib "$(most "download.$format.controller.kib")") |"
    done
    echo "| zst / gz | $(ratio "$(med download.zst.ms)" "$(med download.gz.ms)") |" \
        "$(ratio "$(med download.zst.bytes)" "$(med download.gz.bytes)") | | | |"
}

## bytes B: a byte count for the tables ("20.0 MB", "1.95 GB"; "–" when missing).
bytes() {
    awk -v v="$1" 'BEGIN {if (v == "") print "–"; else if (v < 1e9) printf "%.1f MB", v / 1e6; else printf "%.2f GB", v / 1e9}'
}

## growing_targets: issue 14's targets on the growing-file row ([§9](#9-a-growing-file-shipkeep-vs-rsync---link-dest-and-restic)).
growing_targets() {
    local appended limit second dir data restic
    appended=$(med growing.appended); second=$(med growing.sk.2.disk)
    limit=$(awk -v a="$appended" 'BEGIN {if (a != "") printf "%.0f", 2 * a + 16 * 1048576}')
    target_row "second deploy, $GROWING_NAME ([§9](#9-a-growing-file-shipkeep-vs-rsync---link-dest-and-restic))" \
        "$(t "$(med growing.sk.2.ms)")" "$(med growing.sk.2.ms)" 1500 "1.5 s"
    target_row "its snapshot's disk (bytes written), $(bytes "$appended") appended" "$(bytes "$second")" "$second" \
        "$limit" "2 × appended + 16 MiB = $(bytes "$limit")"
    dir=$(med growing.sk.dir); data=$(med growing.data)
    target_row "snapshot dir after 5 deploys (\`keep: 5\`) / data" "$(bytes "$dir") / $(bytes "$data") = $(ratio "$dir" "$data")" \
        "$(quotient "$dir" "$data")" 1.15 "1.15×"
    restic=$(med growing.restic.later.disk)
    target_row "restic repository growth per backup / appended (median of backups 2–5)" \
        "$(bytes "$restic") / $(bytes "$appended") = $(ratio "$restic" "$appended")" "$(quotient "$restic" "$appended")" \
        1.2 "1.2×"
}

growing() {
    local i
    echo "| run | appended before it | shipkeep deploy | its snapshot phase | snapshot disk added | \`rsync -a --link-dest\` | rsync disk added | \`restic backup\` of the new snapshot | restic repository growth |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for i in 1 2 3 4 5; do
        echo "| $i | $([ "$i" = 1 ] && echo "– (first: nothing to link against)" || bytes "$(sed -n "$((i - 1))p" "$WORK/results/growing.appended" 2>/dev/null)") |" \
            "$(t "$(med "growing.sk.$i.ms")") | $(t "$(med "growing.sk.$i.snapshot.ms")") | $(bytes "$(med "growing.sk.$i.disk")") |" \
            "$(t "$(med "growing.rsync.$i.ms")") | $(bytes "$(med "growing.rsync.$i.disk")") |" \
            "$(t "$(med "growing.restic.$i.ms")") | $(bytes "$(med "growing.restic.$i.disk")") |"
    done
    echo
    echo "| after 5 runs | data dirs | shipkeep snapshot dir ($(med growing.snapshots) snapshots) | rsync copies (5) | restic repository (5 backups) |"
    echo "|---|---|---|---|---|"
    echo "| disk | $(bytes "$(med growing.data)") | $(bytes "$(med growing.sk.dir)") ($(ratio "$(med growing.sk.dir)" "$(med growing.data)")) |" \
        "$(bytes "$(med growing.rsync.dir)") ($(ratio "$(med growing.rsync.dir)" "$(med growing.data)")) |" \
        "$(bytes "$(med growing.restic.dir)") ($(ratio "$(med growing.restic.dir)" "$(med growing.data)")) |"
    echo
    echo "Lines lost by shipkeep over the 5 deploys: $(for i in 1 2 3 4 5; do lost "growing.sk.$i"; done | awk '{l += $1; w += $3} END {print l + 0 " of " w + 0}')."
    echo
    echo "Where each shipkeep deploy's time went (its phases as §1 times them; \"outside the phases\" is connecting, the"
    echo "hello, starting the worker and the result):"
    echo
    echo "| run | $(echo "$PHASES" | sed 's/ / | /g') | outside the phases | wall |"
    echo "|---|---|---|---|---|---|---|---|---|"
    local phase sum row
    for i in 1 2 3 4 5; do
        row="| $i |"
        sum=0
        for phase in $PHASES; do
            row="$row $(t "$(med "growing.sk.$i.$phase.ms")") |"
            sum=$(awk -v s="$sum" -v v="$(med "growing.sk.$i.$phase.ms")" 'BEGIN {print s + v}')
        done
        echo "$row $(t "$(awk -v w="$(med "growing.sk.$i.ms")" -v s="$sum" 'BEGIN {if (w != "") print w - s}')") |" \
            "$(t "$(med "growing.sk.$i.ms")") |"
    done
}

ship() {
    local kind
    echo "| fixture | deploy of a small change | wall (median) | preflight (median) | lines lost |"
    echo "|---|---|---|---|---|"
    for kind in fetch ship; do
        echo "| $SMALL_NAME | $([ "$kind" = ship ] && echo "\`--ship\` (bundle over SSH)" || echo "fetched by the VM") |" \
            "$(t "$(med "ship.small.$kind.ms")") | $(t "$(med "ship.small.$kind.preflight.ms")") |" \
            "$(lost "ship.small.$kind") |"
    done
    echo "| | ratio | $(ratio "$(med ship.small.ship.ms)" "$(med ship.small.fetch.ms)") |" \
        "$(ratio "$(med ship.small.ship.preflight.ms)" "$(med ship.small.fetch.preflight.ms)") | |"
}

deploys() {
    local fixture kind
    echo "| fixture | deploy | shipkeep | common recipe | ratio | lines lost, shipkeep | lines lost, common recipe |"
    echo "|---|---|---|---|---|---|---|"
    for fixture in small large; do
        for kind in first second; do
            echo "| $(name $fixture) | $kind | $(t "$(med "sk.$fixture.$kind.ms")") |" \
                "$(t "$(med "seed.$fixture.$kind.ms")") |" \
                "$(ratio "$(med "sk.$fixture.$kind.ms")" "$(med "seed.$fixture.$kind.ms")") |" \
                "$(lost "sk.$fixture.$kind") | $(lost "seed.$fixture.$kind") |"
        done
    done
}

phases() {
    local fixture kind phase sum row
    echo "| fixture | deploy | $(echo "$PHASES" | sed 's/ / | /g') | outside the phases | wall |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for fixture in small large; do
        for kind in first second; do
            row="| $(name $fixture) | $kind |"
            sum=0
            for phase in $PHASES; do
                row="$row $(t "$(med "sk.$fixture.$kind.$phase.ms")") |"
                sum=$(awk -v s="$sum" -v v="$(med "sk.$fixture.$kind.$phase.ms")" 'BEGIN {print s + v}')
            done
            echo "$row $(t "$(awk -v w="$(med "sk.$fixture.$kind.ms")" -v s="$sum" 'BEGIN {if (w != "") print w - s}')") |" \
                "$(t "$(med "sk.$fixture.$kind.ms")") |"
        done
    done
}

snapshots() {
    local fixture
    echo "| fixture | snapshot | shipkeep (walk + snapshot) | of which the walk | \`cp -a\` | \`rsync -a\` | shipkeep / rsync |"
    echo "|---|---|---|---|---|---|---|"
    for fixture in small large; do
        echo "| $(name $fixture) | first (nothing to link against) | $(t "$(med "snap.$fixture.first.ms")") |" \
            "$(t "$(med "snap.$fixture.first.scan.ms")") | $(t "$(med "cp.$fixture.ms")") |" \
            "$(t "$(med "rsync.$fixture.full.ms")") |" \
            "$(ratio "$(med "snap.$fixture.first.ms")" "$(med "rsync.$fixture.full.ms")") |"
        echo "| $(name $fixture) | second, data unchanged (\`rsync -a --link-dest\` against the first) |" \
            "$(t "$(med "snap.$fixture.second.ms")") | $(t "$(med "snap.$fixture.second.scan.ms")") | – |" \
            "$(t "$(med "rsync.$fixture.linked.ms")") |" \
            "$(ratio "$(med "snap.$fixture.second.ms")" "$(med "rsync.$fixture.linked.ms")") |"
    done
}

## watch_spread FIXTURE: the median `--watch` probe with its 10th and 90th percentiles.
watch_spread() {
    awk -v m="$(med "watch.$1.us")" -v lo="$(pct "watch.$1.us" 10)" -v hi="$(pct "watch.$1.us" 90)" \
        'BEGIN {if (m == "") print "–"; else printf "%.1f ms (p10 %.1f, p90 %.1f)", m / 1000, lo / 1000, hi / 1000}'
}

probes() {
    local fixture
    echo "| fixture | \`shipkeep status\` | \`ssh HOST true\` | ratio | one \`status --watch\` probe |" \
        "the probe's 3 git commands, from a shell | the probe's checks, timed by the agent |"
    echo "|---|---|---|---|---|---|---|"
    for fixture in small large; do
        echo "| $(name $fixture) | $(t "$(med "status.$fixture.ms")") | $(t "$(med "ssh.$fixture.ms")") |" \
            "$(ratio "$(med "status.$fixture.ms")" "$(med "ssh.$fixture.ms")") |" \
            "$(watch_spread "$fixture") |" \
            "$(t "$(med "statusgit.$fixture.ms")") |" \
            "$(t "$(med "statuschecks.$fixture.ms")") |"
    done
}

fleet() {
    local key n p
    echo "| hosts | \`--parallel\` | wall | vs 1 host | machine CPU (all processes) | machine CPU / 2 cores |" \
        "controller CPU | per host: controller (median) | per host: agent's deploy (median) |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for key in $(cd "$WORK/results" && ls fleet.*.*.ms 2>/dev/null | grep -v -e host -e agent -e cpu -e warmup -e capped \
        | sort -t. -k2,2n -k3,3n); do
        key=${key%.ms}; n=$(echo "$key" | cut -d. -f2); p=$(echo "$key" | cut -d. -f3)
        echo "| $n | $p | $(t "$(med "$key.ms")") | $(ratio "$(med "$key.ms")" "$(med fleet.1.1.ms)") |" \
            "$(t "$(med "$key.cpu.ms")") | $(t "$(half "$(med "$key.cpu.ms")")") | $(t "$(med "$key.controller.cpu.ms")") |" \
            "$(t "$(med "$key.host.ms")") | $(t "$(med "$key.agent.ms")") |"
    done
    echo "| $FLEET_MAX, first deploy (the warm-up, once) | $FLEET_MAX | $(t "$(med fleet.warmup.ms)") | |" \
        "$(t "$(med fleet.warmup.cpu.ms)") | $(t "$(half "$(med fleet.warmup.cpu.ms)")") |" \
        "$(t "$(med fleet.warmup.controller.cpu.ms)") | $(t "$(med fleet.warmup.host.ms)") | $(t "$(med fleet.warmup.agent.ms)") |"
}

## fleet_capped: the capped rows (1 host, FLEET_MAX hosts, every VM held to the same CPU share), or why not.
fleet_capped() {
    local n key
    if [ -f "$WORK/results/fleet.capped.why" ]; then
        echo "Not measured on this machine: $(cat "$WORK/results/fleet.capped.why")."
        return
    fi
    echo "| hosts | \`--parallel\` | wall | vs 1 host | machine CPU (all processes) | controller CPU |" \
        "per host: controller (median) | per host: agent's deploy (median) |"
    echo "|---|---|---|---|---|---|---|---|"
    for n in 1 "$FLEET_MAX"; do
        key=fleet.capped.$n
        echo "| $n | $n | $(t "$(med "$key.ms")") | $(ratio "$(med "$key.ms")" "$(med fleet.capped.1.ms)") |" \
            "$(t "$(med "$key.cpu.ms")") | $(t "$(med "$key.controller.cpu.ms")") |" \
            "$(t "$(med "$key.host.ms")") | $(t "$(med "$key.agent.ms")") |"
    done
}

## cap_share: each capped VM's CPU share in words ("1/20 of a core").
cap_share() { awk -v us="$FLEET_CAP_US" 'BEGIN {printf "1/%g of a core", 100000 / us}'; }

## half MS: MS / 2 (the machine's CPU time spread over its 2 cores: the least wall time it can take).
half() { [ -n "$1" ] && awk -v v="$1" 'BEGIN {printf "%.0f", v / 2}'; return 0; }

ansible() {
    local fixture
    echo "| fixture | shipkeep, second deploy | shipkeep, first deploy | Ansible playbook | shipkeep (second) / Ansible |" \
        "lines lost, Ansible |"
    echo "|---|---|---|---|---|---|"
    for fixture in small large; do
        echo "| $(name $fixture) | $(t "$(med "sk.$fixture.second.ms")") | $(t "$(med "sk.$fixture.first.ms")") |" \
            "$(t "$(med "ansible.$fixture.ms")") |" \
            "$(ratio "$(med "sk.$fixture.second.ms")" "$(med "ansible.$fixture.ms")") | $(lost "ansible.$fixture") |"
    done
}

memory() {
    local fixture kind
    echo "| fixture | deploy | controller | deploy worker | serving agent |"
    echo "|---|---|---|---|---|"
    for fixture in small large; do
        for kind in first second; do
            echo "| $(name $fixture) | $kind | $(mib "$(most "sk.$fixture.$kind.controller.kib")") |" \
                "$(mib "$(most "sk.$fixture.$kind.worker.kib")") | $(mib "$(most "sk.$fixture.$kind.serve.kib")") |"
        done
    done
}

## report: the whole document.
report() {
    SMALL_NAME=$(awk -v f="${SMALL% *}" -v k="${SMALL#* }" 'BEGIN {printf "%.0f MB", f * k * 1.024 / 1000}')
    LARGE_NAME=$(awk -v f="${LARGE% *}" -v k="${LARGE#* }" \
        'BEGIN {v = f * k * 1.024 / 1000; if (v >= 1000) printf "%.0f GB", v / 1000; else printf "%.0f MB", v}')
    GROWING_NAME=$(awk -v m="${GROWING%% *}" -v r="${GROWING#* }" \
        'BEGIN {split(r, a, " "); printf "%s JSONL + %d small files", (m >= 1000 ? sprintf("%.0f GB", m / 1000) : m " MB"), a[1]}')
    local quick=""
    [ "$QUICK" = 1 ] && quick=" **Quick mode (BENCH_QUICK=1): tiny fixtures, few runs; it checks the bench, not shipkeep.**"
    cat <<EOF
# Benchmarks

Generated by \`make bench\` (bench/run.sh) in one run on the machine below; rerun it to refresh, do not edit
by hand.$quick

$(machine)

The load average above counts the bench's own sandbox VMs (up to 32 sshd with their agents and bots); whatever
else ran on the machine at the same time adds noise to absolute times. Each comparison alternates its two
sides run by run, so that load hits both alike; ratios are of medians.

**Setup.** Every "VM" is a sandbox (\`shipkeep-sandbox run\`): a real OpenSSH sshd on 127.0.0.1, the release
\`shipkeep-agent\` as the deploy key's forced command, a bare git origin, and the sample bot app, whose
\`restart.sh\` stops the running bot, waits until its pid is gone, and starts the new one. Each sandbox runs
under [bench/subreaper.py](../bench/subreaper.py), which reaps orphaned processes at once as a VM's init does:
this machine's PID 1 reaps them only every 1–2 s, and the killed bot's zombie made every \`restart.sh\` (for
shipkeep, the common recipe and Ansible alike) wait that long. Fixtures: **$SMALL_NAME** = $(size "$SMALL"),
**$LARGE_NAME** = $(size "$LARGE") of random bytes in \`paper_trading_outputs/\`, plus ten small logs.
Every deploy (shipkeep, the common recipe, Ansible) runs while \`../shared/bench/writer.sh\` appends numbered
lines to a file in the data dir every ~2 ms; the numbers missing afterwards are the lines lost. Each deploy
is of a new commit, and the bot is running when it starts. The page cache is warm (nothing is dropped), and
\`sync\` runs before every timed step, so that none pays for writing back another's dirty pages (a shipkeep
snapshot ends in \`syncfs\`, which would otherwise also flush the gigabytes the other tools just copied).

Repetitions: $RUNS_SMALL of each deploy on the $SMALL_NAME fixture, $RUNS_LARGE on the $LARGE_NAME fixture;
$RUNS_PROBE probes of each kind; $WATCH_PROBES probes in one \`--watch\` session; $RUNS_FLEET of each fleet size
($RUNS_CAPPED of each capped one);
$RUNS_ANSIBLE Ansible runs per fixture. A "first" shipkeep deploy has no earlier snapshot (the snapshot dir is
emptied before it); a "second" one links against the first's. The common recipe does the same work every time.

## Targets

$(targets)

## 1. Deploys: shipkeep vs the common recipe (\`../shared/bench/seed-deploy.sh\` over OpenSSH)

$(deploys)

Where shipkeep's time goes: medians of the phases, from the phase events of \`deploy --json\` timed on arrival
at the controller (as the human output times them; the serving agent relays each event of the worker's journal
as it is written, woken by inotify); "outside the phases" is connecting, the hello, starting the worker and the
result.

$(phases)

## 2. Snapshot: shipkeep's snapshot phase vs \`cp -a\` and \`rsync -a --link-dest\`

The data dirs of the shipkeep VM above (bot running), copied on the filesystem its snapshots live on, the
three tools alternated run by run ($RUNS_SMALL runs on $SMALL_NAME, $RUNS_LARGE on $LARGE_NAME). shipkeep's time is
\`shipkeep-agent snapshot-bench\` (a hidden subcommand): exactly what a deploy does for its snapshot, the stat
walk of the data dirs (at the end of preflight in a deploy) and the snapshot step (hard links for files whose
size and mtime match the previous snapshot, \`copy_file_range\` for the rest, an XXH64 of every copied file in
the manifest, the manifest written and the snapshot renamed into place), timed in-process, so that both sides
are timed on the VM.

$(snapshots)

## 3. Probe: \`shipkeep status\` vs \`ssh HOST true\`

Each is a fresh process and SSH connection (key exchange, host key check, public-key login); \`status\` then
asks the agent for the app's code, data, disk, lock and last deploy, and the agent runs the checks a deploy's
health phase runs: the sample app's service check (\`./check.sh\`, a bash script: is the bot's pid alive), the
freshness rule (\`paper_trading_outputs\` written within 10 s: a walk of that dir) and the data dirs' presence,
with the bot running, so every probe is OK. One \`status --watch\` probe is the median gap between consecutive
results of \`status --watch 0.001 --count $WATCH_PROBES --json\`, over the one session it keeps open. For each
probe the agent also runs three git commands (\`log -1\`, \`symbolic-ref\`, \`status --porcelain\`), walks the
data dirs and reads the lock and last deploy; the second-last column times those three git commands run from a
shell, as a floor for the probe, and the last one is what the checks took, as the agent timed them (the sum of
the \`seconds\` of the report's \`checks\`): what judging the app costs on top of reading its state.

$(probes)

## 4. Fleet: \`shipkeep deploy GROUP --parallel N\`

$FLEET_MAX sandbox VMs of the $SMALL_NAME fixture, each its own sshd, all fetching from one origin; groups of
$(echo "$FLEET_SIZES" | sed 's/ /, /g') hosts in one shipkeep.yml. After a first deploy to all of them (the
warm-up), every deploy links unchanged data. All the "VMs" share this machine's 2 cores, so their agents, git,
snapshots and bot restarts compete for them: this measures the controller's parallelism plus the cost of
$FLEET_MAX deploys on 2 cores, not a fleet of real VMs. Bots are stopped between measurements. "Machine CPU" is
the CPU time every process on the machine used during the deploy (from /proc/stat); half of it is the least
wall time 2 cores can do that work in. "Controller CPU" is \`shipkeep\`'s own (user + system).

$(fleet)

On 2 shared cores the wall time of $FLEET_MAX hosts is bounded below by all their VMs' CPU time / 2, and one
host's deploy is itself mostly CPU: no controller can bring $FLEET_MAX of them within 3× of one here. So the
same two deploys run again with every VM held to $(cap_share) (a cpu cgroup of its own per VM, holding its sshd
and everything its sessions start; the controller is outside them), in both runs: one host of that size
against $FLEET_MAX of them, as a real fleet is $FLEET_MAX VMs of one size. What is left of the ratio is the
controller's parallelism and what the VMs still share (the disk, the one origin, the kernel). Bots are stopped
between measurements here too.

$(fleet_capped)

What each VM's share is made of: one SSH login (\`ssh HOST true\`: client, sshd and the login shell) costs the
machine $(t "$(med fleet.login.cpu.ms)") of CPU, of which $(t "$(med fleet.shell.cpu.ms)") is the login shell alone (sshd runs every command through
the user's shell). Each sandbox VM's sessions have a HOME of their own, seeded from /etc/skel: this machine's
root \`~/.bashrc\` runs \`pyenv rehash\` under a lock every login shares, which cost 120 ms of CPU per login and
made $FLEET_MAX VMs deploying at once wait for each other.

## 5. The same deploy as an Ansible playbook

[bench/ansible/deploy.yml](../bench/ansible/deploy.yml): copy the data dirs to a backup dir (\`copy\` with
\`remote_src\`), \`git\` to the exact commit (\`force\`), \`git clean -fd\` except the data dirs, \`./restart.sh\`;
against the shipkeep VM over OpenSSH with the plain key; ansible-core in a venv, pipelining on, a fresh
ControlPersist socket per run (as a new CI job has), no fact gathering.

$(ansible)

## 6. Peak memory (RSS)

Controller: \`/usr/bin/time -f %M\` around \`shipkeep deploy\`. Deploy worker: \`workerPeakRSS\` in the deploy's
result (its VmHWM). Serving agent (\`shipkeep-agent serve\`, the forced command): its VmHWM in /proc, read at
10 Hz during the $LARGE_NAME deploys (not measured on the $SMALL_NAME ones). Highest of the runs.

$(memory)

## 7. Shipping the code over SSH (\`deploy --ship\`)

The second deploy of a small change (one line of README.md, committed and pushed) on the $SMALL_NAME shipkeep VM,
$RUNS_SMALL of each, alternated: fetched by the VM from the origin as usual, or shipped from the developer's
clone (\`--ship\`): one more request (\`ship_tips\`: the VM's HEAD and tips), \`git pack-objects\` of what the VM
lacks on the controller, the bundle over the session, and on the VM \`git bundle verify\` plus a fetch from the
bundle with \`transfer.fsckObjects\` in place of the fetch from the origin (both in preflight). The origin is a
local bare repository here, so the fetch it replaces is as cheap as a fetch gets: against a real git host over
the internet, shipping also saves the VM's round trips to it.

$(ship)

## 8. Download: \`.tar.zst\` vs \`.tar.gz\`

\`shipkeep download\` of one snapshot of the download VM: $DOWNLOAD_JSON_MB MB of JSON lines (bot output: prices,
sizes and ids that change line by line, bench/rows.sh \`download_fixture\`) and $(size "$DOWNLOAD_RANDOM") of
random bytes, $(mb "$DOWNLOAD_BYTES") in all, over the sandbox's sshd on loopback, $RUNS_DOWNLOAD of each format,
alternated. Wall time of the whole command: connect, the agent reading, hashing and compressing every file, the
binary frames over SSH (raw bytes after a JSON line announcing their length; base64 chunk events for an older agent), and the controller decompressing and checking every file's size and XXH64 against
the manifest as the bytes arrive, then fsync and rename. zstd at level 1 with its checksum; gzip at level 1
(stored for files whose first 256 KiB do not compress). Controller peak RSS: \`/usr/bin/time -f %M\`, highest of
the runs. \`BENCH_ONLY=download make bench\` (or \`bench/run.sh --only download\`) runs this row alone.

$(downloads)

## 9. A growing file: shipkeep vs \`rsync -a --link-dest\` and restic

Issue 14's fixture: **$GROWING_NAME** (1 KiB each) in \`paper_trading_outputs/\`, on a sandbox VM with
\`snapshots: {keep: 5}\`, deployed 5 times; before each deploy after the first, $(echo "$GROWING" | awk '{print $3}') MB of new
lines are appended to the JSONL file (random base64, so that nothing dedups or compresses away beyond base64's
own redundancy). Each shipkeep deploy is of a new commit, with the bot running and \`writer.sh\` appending, as in
§1; the first one has no earlier snapshot (the snapshot dir is emptied before it). shipkeep stores a file larger
than one chunk (4 MiB) as chunks, hard-linked from the previous snapshot when the bytes read now hash as the
chunk recorded there, so a file that grew costs its last chunk and its new bytes. After each deploy the bot is
stopped and the same data dirs are copied by \`rsync -a --link-dest\` against rsync's previous copy (a changed
file is copied whole: it has no chunks), and the snapshot just taken is backed up by \`restic backup\` into one
local repository (content-defined chunks, deduplicated across backups, compressed). "Disk added" is the growth
of \`du -B1\` of each tool's directory (hard-linked files counted once), a close measure of the bytes written.

$(growing)
EOF
}
