#!/usr/bin/env bash
# bench/deploy-vs-seed.sh — shipkeep next to the common recipe (../shared/bench/seed-deploy.sh) and OpenSSH,
# in one run on one machine, on sandbox VMs (a real sshd on loopback). Prints a Markdown table.
#
#   bench/deploy-vs-seed.sh [FILES] [KIB]     default: 1000 files of 100 KiB (≈ 100 MB)
#
# Each deploy runs while an independent writer (../shared/bench/writer.sh) appends numbered lines to a file in
# the data dir; afterwards the missing numbers are the lines the deploy lost.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-1000}; KIB=${2:-100}; RUNS=${RUNS:-10}
SEED_DIR=${SEED_DIR:-../shared/bench}
[ -f "$SEED_DIR/seed-deploy.sh" ] || { echo "bench: $SEED_DIR/seed-deploy.sh not found (set SEED_DIR)" >&2; exit 1; }
swift build -c release >/dev/null
BIN=$(swift build -c release --show-bin-path)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shipkeep-bench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

start_vm() {  # start_vm NAME → sources its env into VM_* variables
  "$BIN/shipkeep-sandbox" run --dir "$WORK/$1" --data-files "$FILES" --data-kib "$KIB" --no-bot >"$WORK/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do [ -f "$WORK/$1/sandbox.env" ] && break; sleep 0.1; done
  [ -f "$WORK/$1/sandbox.env" ] || { cat "$WORK/$1.log"; exit 1; }
  set -a; . "$WORK/$1/sandbox.env"; set +a
}
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ssh_plain() {
  ssh -T -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$SHIPKEEP_KNOWN_HOSTS" \
      -o IdentitiesOnly=yes -i "$SANDBOX_PLAIN_KEY" -p "$SHIPKEEP_PORT" "$SHIPKEEP_USER@$SHIPKEEP_HOST" "$@"
}
push_commit() {
  git -C "$SANDBOX_DEVELOPER" -c user.name=b -c user.email=b@example.invalid commit -q --allow-empty -m "$1"
  git -C "$SANDBOX_DEVELOPER" push -q origin HEAD:main
}
with_writer() {  # with_writer CMD... → runs CMD while writer.sh appends; prints "ms lost written"
  local out="$SANDBOX_APP_PATH/paper_trading_outputs/bench-writer.jsonl"
  rm -f "$out"
  bash "$SEED_DIR/writer.sh" "$out" & local writer=$!
  for _ in $(seq 1 200); do [ -s "$out" ] && break; sleep 0.01; done
  local t0; t0=$(now_ms)
  "$@" >"$WORK/last.out" 2>&1 || true
  local t1; t1=$(now_ms)
  sleep 0.2; kill "$writer"; wait "$writer" 2>/dev/null || true
  local stats
  stats=$(grep -o '"seq":[0-9]*' "$out" | cut -d: -f2 | sort -n | awk '{if(NR==1)min=$1; max=$1; n++} END {print max-min+1-n, max-min+1}')
  echo "$((t1 - t0)) $stats"
}

echo "bench: $FILES files × $KIB KiB per sandbox, $RUNS runs for the probes; work dir $WORK" >&2
start_vm shipkeep
for i in $(seq 1 "$RUNS"); do t0=$(now_ms); ssh_plain true; echo $(( $(now_ms) - t0 )); done | median > "$WORK/ssh.ms"
for i in $(seq 1 "$RUNS"); do t0=$(now_ms); "$BIN/shipkeep" status >/dev/null; echo $(( $(now_ms) - t0 )); done | median > "$WORK/status.ms"
push_commit "bench: v2"
read -r sk1 sk1_lost sk1_written < <(with_writer "$BIN/shipkeep" deploy)
cp "$WORK/last.out" "$WORK/shipkeep-first.out"
read -r sk2 sk2_lost sk2_written < <(with_writer "$BIN/shipkeep" deploy)
cp "$WORK/last.out" "$WORK/shipkeep-second.out"

start_vm seed
push_commit "bench: v2"
ssh_plain mkdir -p "$WORK/seed-backup"
read -r sd1 sd1_lost sd1_written < <(with_writer ssh_plain bash "$PWD/$SEED_DIR/seed-deploy.sh" "$SANDBOX_APP_PATH" "$WORK/seed-backup/data")
read -r sd2 sd2_lost sd2_written < <(with_writer ssh_plain bash "$PWD/$SEED_DIR/seed-deploy.sh" "$SANDBOX_APP_PATH" "$WORK/seed-backup/data")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f×", a / b}'; }
cat <<TABLE
| measurement ($FILES files × $KIB KiB, writer appending) | shipkeep | common recipe / OpenSSH | ratio |
|---|---|---|---|
| probe: \`shipkeep status\` vs \`ssh HOST true\` (median of $RUNS) | $(cat "$WORK/status.ms") ms | $(cat "$WORK/ssh.ms") ms | $(ratio "$(cat "$WORK/status.ms")" "$(cat "$WORK/ssh.ms")") |
| first deploy, wall time | $sk1 ms | $sd1 ms | $(ratio "$sk1" "$sd1") |
| second deploy, wall time | $sk2 ms | $sd2 ms | $(ratio "$sk2" "$sd2") |
| lines lost, first deploy | $sk1_lost of $sk1_written | $sd1_lost of $sd1_written | |
| lines lost, second deploy | $sk2_lost of $sk2_written | $sd2_lost of $sd2_written | |
TABLE
echo
grep -E "snapshot|deployed" "$WORK/shipkeep-second.out" | sed 's/^/    /' || true
