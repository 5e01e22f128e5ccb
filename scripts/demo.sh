#!/usr/bin/env bash
# make demo: start a throwaway VM (a real sshd on loopback, a sample bot that keeps writing to its data
# dirs), then use shipkeep against it through SSH, and show what happened to the data.
set -euo pipefail

BIN=${SHIPKEEP_BIN_DIR:-$(swift build --show-bin-path)}
SHIPKEEP="$BIN/shipkeep"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/shipkeep-demo.XXXXXX")
bold=""; reset=""
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\e[1m'; reset=$'\e[0m'; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
show() { printf '$ %s\n' "$*"; }

"$BIN/shipkeep-sandbox" run --dir "$DIR/vm" > "$DIR/sandbox.log" 2>&1 &
SANDBOX=$!
cleanup() {
  kill "$SANDBOX" 2>/dev/null || true
  wait "$SANDBOX" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

step "Starting a sandbox VM in $DIR/vm"
for _ in $(seq 1 300); do
  [ -f "$DIR/vm/sandbox.env" ] && break
  kill -0 "$SANDBOX" 2>/dev/null || { cat "$DIR/sandbox.log"; echo "the sandbox failed to start" >&2; exit 1; }
  sleep 0.1
done
[ -f "$DIR/vm/sandbox.env" ] || { cat "$DIR/sandbox.log"; echo "the sandbox did not come up in 30 s" >&2; exit 1; }
set -a; . "$DIR/vm/sandbox.env"; set +a
out="$SANDBOX_APP_PATH/paper_trading_outputs/signals.jsonl"
echo "sshd:        $SHIPKEEP_HOST:$SHIPKEEP_PORT (host key $SANDBOX_HOST_FINGERPRINT)"
echo "app:         $SANDBOX_APP_PATH (data dirs paper_trading_outputs, logs)"
echo "deploy key:  its authorized_keys line allows nothing but the agent:"
sed -e 's/ssh-ed25519 .*/ssh-ed25519 AAAA…/' "$SANDBOX_AUTHORIZED_KEYS" | sed 's/^/             /'
for _ in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.05; done
before=$(wc -l < "$out")
echo "bot:         running, $before lines in paper_trading_outputs/signals.jsonl so far"

step "shipkeep status — through SSH, host key checked against known_hosts, forced-command key"
show shipkeep status --host "$SHIPKEEP_HOST" --port "$SHIPKEEP_PORT" --app bots …
start=$(date +%s%N)
set +e; "$SHIPKEEP" status; code=$?; set -e
echo "(exit $code in $(( ($(date +%s%N) - start) / 1000000 )) ms; 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"

step "The same for machines: --json (JSON Lines; the last line is the result)"
show shipkeep status --json
"$SHIPKEEP" status --json | cut -c1-160 || true

step "And for Prometheus: --format prometheus"
show shipkeep status --format prometheus
"$SHIPKEEP" status --format prometheus | grep -v '^#' || true

step "A VM whose host key does not match known_hosts is refused before logging in"
ssh-keygen -q -t ed25519 -N '' -f "$DIR/impostor" >/dev/null
echo "[$SHIPKEEP_HOST]:$SHIPKEEP_PORT $(cut -d' ' -f1,2 "$DIR/impostor.pub")" > "$DIR/wrong_known_hosts"
show shipkeep status --known-hosts wrong_known_hosts
set +e; "$SHIPKEEP" status --known-hosts "$DIR/wrong_known_hosts"; code=$?; set -e
echo "(exit $code)"

step "Push a new commit and deploy it while the bot keeps writing"
git -C "$SANDBOX_DEVELOPER" -c user.name=Demo -c user.email=demo@example.invalid commit -q --allow-empty -m "v2: tune the strategy"
git -C "$SANDBOX_DEVELOPER" push -q origin HEAD:main
target=$(git -C "$SANDBOX_DEVELOPER" rev-parse HEAD)
show shipkeep deploy --commit "${target:0:12}"
set +e; "$SHIPKEEP" deploy --commit "$target"; code=$?; set -e
echo "(exit $code; live commit is now $(git -C "$SANDBOX_APP_PATH" rev-parse --short=12 HEAD))"

step "Deploy it again: unchanged data is hard-linked, not copied"
show shipkeep deploy
set +e; "$SHIPKEEP" deploy; set -e

step "Push a broken commit: its health check fails, and shipkeep rolls back by itself"
printf '#!/usr/bin/env bash\necho "self-test failed: strategy config missing" >&2\nexit 1\n' > "$SANDBOX_DEVELOPER/check.sh"
git -C "$SANDBOX_DEVELOPER" -c user.name=Demo -c user.email=demo@example.invalid commit -q -am "v3: broken"
git -C "$SANDBOX_DEVELOPER" push -q origin HEAD:main
show shipkeep deploy
set +e; "$SHIPKEEP" deploy; code=$?; set -e
echo "(exit $code; live commit is still $(git -C "$SANDBOX_APP_PATH" rev-parse --short=12 HEAD))"

step "Snapshots of the data, one per deploy"
show shipkeep snapshots
"$SHIPKEEP" snapshots

step "Every line the bot wrote is still there"
after=$(wc -l < "$out")
gaps=$(awk -F'"seq":' '{split($2,a,","); n=a[1]+0; if (NR>1 && n!=prev+1) g++; prev=n} END {print g+0}' "$out")
dups=$(awk -F'"seq":' '{split($2,a,","); print a[1]+0}' "$out" | sort -n | uniq -d | wc -l)
echo "signals.jsonl: $before lines before the deploys, $after now; $gaps gaps and $dups duplicates in the sequence"
[ "$gaps" -eq 0 ] && [ "$dups" -eq 0 ] || { echo "DATA LOST" >&2; exit 1; }
