#!/usr/bin/env bash
# bench/run.sh — `make bench`: shipkeep next to what people use instead, in one run on one machine, on sandbox
# VMs (a real sshd on loopback each). Prints docs/BENCHMARKS.md (medians, ratios, targets, the machine) and
# writes it there.
#
#   bench/run.sh                 the full run (≤ 15 min on 2 cores); writes docs/BENCHMARKS.md
#   BENCH_QUICK=1 bench/run.sh   tiny fixtures and few repetitions, to check the bench itself (~2 min);
#                                writes .build/bench/BENCHMARKS-quick.md
#   bench/run.sh --only ROW…     only some rows (deploy snapshot ansible status ship fleet download growing; or
#                                BENCH_ONLY="ROW…", e.g. BENCH_ONLY=download make bench); writes
#                                .build/bench/BENCHMARKS-partial.md (so do BENCH_SMALL=…, BENCH_RUNS_LARGE=… overrides)
#   BENCH_ONLY="ROW…" bench/run.sh   the same as --only (`BENCH_ONLY=growing make bench`: only the growing-file row)
#
# The comparisons: ../shared/bench/seed-deploy.sh (the common recipe) over OpenSSH (SEED_DIR overrides the
# directory); `cp -a` and `rsync -a --link-dest`; `ssh HOST true`; an Ansible playbook (bench/ansible/deploy.yml,
# ansible-core installed into .build/bench/ansible-venv when missing). Every deploy runs while
# ../shared/bench/writer.sh appends numbered lines to a file in the data dir; gaps are lines lost.
set -euo pipefail
cd "$(dirname "$0")/.."
started_us=${EPOCHREALTIME/./}
unset "${!SHIPKEEP_@}"  # the group deploys read shipkeep.yml; nothing from the caller's environment may override it

SEED_DIR=${SEED_DIR:-../shared/bench}
[ -f "$SEED_DIR/seed-deploy.sh" ] || { echo "bench: $SEED_DIR/seed-deploy.sh not found (set SEED_DIR)" >&2; exit 1; }
SEED_ABS=$(cd "$SEED_DIR" && pwd)
QUICK=${BENCH_QUICK:-0}
ONLY=${BENCH_ONLY:+ $BENCH_ONLY }  # BENCH_ONLY="download" make bench: the same as --only download
if [ "${1:-}" = --only ]; then shift; ONLY=" $* "; fi
if [ -z "$ONLY" ] && [ -n "${BENCH_ONLY:-}" ]; then ONLY=" $BENCH_ONLY "; fi
## wanted ROW: whether ROW runs (all do unless --only names some).
wanted() { [ -z "$ONLY" ] || [[ "$ONLY" == *" all "* ]] || [[ "$ONLY" == *" $1 "* ]]; }
if [ "$QUICK" = 1 ]; then
    SMALL="20 10"; LARGE="200 20"; FLEET_SIZES="1 2 4"; FLEET_PARALLEL="2 4"
    RUNS_SMALL=2; RUNS_LARGE=1; RUNS_PROBE=3; RUNS_FLEET=1; RUNS_CAPPED=1; RUNS_ANSIBLE=1; WATCH_PROBES=5
    DOWNLOAD_JSON_MB=40; DOWNLOAD_RANDOM="5 1024"; RUNS_DOWNLOAD=1
    GROWING="64 200 2"
    DOC=${BENCH_DOC:-.build/bench/BENCHMARKS-quick.md}
else
    SMALL="100 100"; LARGE="10000 100"; FLEET_SIZES="1 8 32"; FLEET_PARALLEL="8 32"
    RUNS_SMALL=5; RUNS_LARGE=2; RUNS_PROBE=10; RUNS_FLEET=2; RUNS_CAPPED=4; RUNS_ANSIBLE=2; WATCH_PROBES=50
    # The download row: 900 MB of JSON lines and 100 files × 1 MiB of random bytes, 1 GB in all.
    DOWNLOAD_JSON_MB=900; DOWNLOAD_RANDOM="100 1024"; RUNS_DOWNLOAD=3
    # The growing-file row (issue 14): MB of JSONL, small files, MB appended before each later deploy.
    GROWING="2000 5000 20"
    DOC=${BENCH_DOC:-docs/BENCHMARKS.md}
fi
FLEET_CAP_US=5000  # each VM's CPU per 100 ms in the capped fleet rows (bench/fleet.sh)
# Any of these can be overridden one by one (BENCH_LARGE="1000 100", BENCH_FLEET_SIZES="1 8"…) to debug a row;
# such a run, or one with --only or BENCH_BIN_DIR (binaries from elsewhere, e.g. .build/debug), does not overwrite
# docs/BENCHMARKS.md.
for setting in SMALL LARGE FLEET_SIZES FLEET_PARALLEL FLEET_CAP_US RUNS_SMALL RUNS_LARGE RUNS_PROBE RUNS_FLEET \
    RUNS_CAPPED RUNS_ANSIBLE WATCH_PROBES DOWNLOAD_JSON_MB DOWNLOAD_RANDOM RUNS_DOWNLOAD GROWING; do
    override="BENCH_$setting"
    if [ -n "${!override:-}" ]; then printf -v "$setting" '%s' "${!override}"; ONLY=${ONLY:-" all "}; fi
done
if [ -n "$ONLY" ]; then DOC=${BENCH_DOC:-.build/bench/BENCHMARKS-partial.md}; fi

if [ -n "${BENCH_BIN_DIR:-}" ]; then
    # Binaries built elsewhere (a debug build, to check a row quickly): the numbers are not the release's.
    BIN=$(cd "$BENCH_BIN_DIR" && pwd)
    ONLY=${ONLY:-" all "}
    [ "$QUICK" = 1 ] || DOC=${BENCH_DOC:-.build/bench/BENCHMARKS-partial.md}
    echo "bench: using the binaries in $BIN (BENCH_BIN_DIR), not a release build" >&2
else
    echo "bench: building (release)" >&2
    swift build -c release >/dev/null
    BIN=$(swift build -c release --show-bin-path)
fi
mkdir -p .build/bench
ANSIBLE_VENV=$PWD/.build/bench/ansible-venv
if wanted ansible && [ ! -x "$ANSIBLE_VENV/bin/ansible-playbook" ]; then
    echo "bench: installing ansible-core into $ANSIBLE_VENV" >&2
    python3 -m venv "$ANSIBLE_VENV"
    "$ANSIBLE_VENV/bin/pip" install -q 'ansible-core==2.19.*'
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shipkeep-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if declare -F fleet_cap_remove >/dev/null; then fleet_cap_remove; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/results"
# shellcheck source=bench/lib.sh
. bench/lib.sh
# shellcheck source=bench/rows.sh
. bench/rows.sh
# shellcheck source=bench/fleet.sh
. bench/fleet.sh

load_before=$(cut -d' ' -f1 /proc/loadavg)
# The 1-minute load average every 10 s, for the doc: how busy the machine was while this ran.
while :; do cut -d' ' -f1 /proc/loadavg >>"$WORK/load"; sleep 10; done &
pids+=($!)
echo "bench: work dir $WORK; small $SMALL, large $LARGE (files KiB); load average $load_before" >&2
for fixture in small large; do
    wanted deploy || wanted snapshot || wanted ansible || wanted status || { wanted ship && [ "$fixture" = small ]; } \
        || continue
    spec=$SMALL; [ "$fixture" = large ] && spec=$LARGE
    echo "bench: starting the $fixture VMs" >&2
    start_vms "$spec" "$fixture-sk" "$fixture-seed"
    runs=$RUNS_SMALL; [ "$fixture" = large ] && runs=$RUNS_LARGE
    if wanted deploy; then deploy_rows "$fixture" "$runs"; fi
    if wanted snapshot; then snapshot_rows "$fixture" "$runs"; fi
    if wanted ansible; then ansible_rows "$fixture" "$RUNS_ANSIBLE"; fi
    if wanted status; then status_rows "$fixture"; fi
    if wanted ship && [ "$fixture" = small ]; then ship_rows "$fixture" "$runs"; fi
    for name in "$fixture-sk" "$fixture-seed"; do use_vm "$name"; stop_bot; done
done
FLEET_MAX=$(echo "$FLEET_SIZES" | tr " " "\n" | sort -n | tail -n 1)
if wanted fleet; then fleet_rows; fi
if wanted download; then
    echo "bench: starting the download VM" >&2
    start_vms "$DOWNLOAD_RANDOM" download
    download_rows "$RUNS_DOWNLOAD"
fi
if wanted growing; then growing_rows; fi
load_after=$(cut -d' ' -f1 /proc/loadavg)
took_s=$(( (${EPOCHREALTIME/./} - started_us) / 1000000 ))

# shellcheck source=bench/report.sh
. bench/report.sh
report >"$WORK/report.md"
mkdir -p "$(dirname "$DOC")"
cp "$WORK/report.md" "$DOC"
cat "$DOC"
echo "bench: wrote $DOC in $((took_s / 60))m$((took_s % 60))s" >&2
