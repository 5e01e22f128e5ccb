#!/usr/bin/env bash
# bench/memory.sh — the deploy worker's peak RSS as the data grows (100 MB vs 1 GB by default): it should
# stay flat, since files are copied in the kernel and hashed through a fixed buffer. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >/dev/null
BIN=$(swift build -c release --show-bin-path)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shipkeep-mem.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
echo "| data | files | first deploy | worker peak RSS (first) | second deploy | worker peak RSS (second) |"
echo "|---|---|---|---|---|---|"
for spec in ${SIZES:-"1000 100" "10000 100"}; do
  set -- $spec
  dir="$WORK/vm-$1"
  "$BIN/shipkeep-sandbox" run --dir "$dir" --data-files "$1" --data-kib "$2" --no-bot >"$dir.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 1800); do [ -f "$dir/sandbox.env" ] && break; sleep 0.1; done
  set -a; . "$dir/sandbox.env"; set +a
  row="| $(( $1 * $2 / 1024 )) MiB | $1 |"
  for run in first second; do
    t0=$(date +%s%3N)
    "$BIN/shipkeep" deploy --json > "$dir.$run.json" || true
    t1=$(date +%s%3N)
    rss=$(tail -n 1 "$dir.$run.json" | grep -o '"workerPeakRSS":[0-9]*' | cut -d: -f2)
    row="$row $((t1 - t0)) ms | $(( ${rss:-0} / 1048576 )) MiB |"
  done
  echo "$row"
done
