#!/usr/bin/env bash
# make demo: start a throwaway VM — a real one (systemd-nspawn, systemd as PID 1, the bot as bot.service run by a
# non-root deploy user) when this machine can boot it, else a real sshd on loopback — with a sample bot that keeps
# writing to its data dirs, then use shipkeep against it through SSH, and show what happened to the data.
set -euo pipefail

BIN=${SHIPKEEP_BIN_DIR:-$(swift build --show-bin-path)}
SHIPKEEP="$BIN/shipkeep"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/shipkeep-demo.XXXXXX")
bold=""; reset=""
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\e[1m'; reset=$'\e[0m'; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
show() { printf '$ %s\n' "$*"; }
# The work tree belongs to the VM's deploy user; git refuses another user's repository unless told it is safe.
git() { command git -c safe.directory='*' "$@"; }

# A real VM needs root, systemd-nspawn and mmdebstrap, and the static agent (the VM has no Swift runtime).
STATIC_AGENT=${SHIPKEEP_STATIC_AGENT:-$PWD/.build-static/release/shipkeep-agent}
why=""
if [ "$(id -u)" -ne 0 ]; then why="not root"
elif [ ! -x /usr/bin/systemd-nspawn ]; then why="systemd-nspawn is missing (apt-get install systemd-container)"
elif ! command -v mmdebstrap >/dev/null; then why="mmdebstrap is missing"
elif [ ! -x "$STATIC_AGENT" ] && ! make -s static-agent >&2; then why="the static agent did not build"
fi

start_sandbox() {
  rm -rf "$DIR/vm"
  SHIPKEEP_STATIC_AGENT="$STATIC_AGENT" "$BIN/shipkeep-sandbox" run --dir "$DIR/vm" "$@" > "$DIR/sandbox.log" 2>&1 &
  SANDBOX=$!
  # The first VM on a machine builds its Debian tree (a few minutes, once).
  for _ in $(seq 1 3000); do
    [ -f "$DIR/vm/sandbox.env" ] && return 0
    kill -0 "$SANDBOX" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
cleanup() {
  kill "$SANDBOX" 2>/dev/null || true
  wait "$SANDBOX" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

VM=0
if [ -z "$why" ]; then
  step "Booting a VM in $DIR/vm: systemd-nspawn, systemd as PID 1, the bot as bot.service of the user deploy"
  if start_sandbox --vm; then VM=1; else
    why="the VM did not come up: $(tail -n 3 "$DIR/sandbox.log" | tr '\n' ' ')"
    kill "$SANDBOX" 2>/dev/null || true; wait "$SANDBOX" 2>/dev/null || true
  fi
fi
if [ "$VM" -eq 0 ]; then
  step "Starting a loopback sandbox in $DIR/vm (no real VM: $why)"
  start_sandbox || { cat "$DIR/sandbox.log"; echo "the sandbox failed to start" >&2; exit 1; }
fi
set -a; . "$DIR/vm/sandbox.env"; set +a
out="$SANDBOX_APP_PATH/paper_trading_outputs/signals.jsonl"
# As the deploy user, with its own systemd manager (lingering).
unit() { $SANDBOX_VM_EXEC runuser -u deploy -- env XDG_RUNTIME_DIR=/run/user/1000 systemctl --user "$@"; }
echo "sshd:        $SHIPKEEP_HOST:$SHIPKEEP_PORT (host key $SANDBOX_HOST_FINGERPRINT)"
echo "app:         $SANDBOX_APP_PATH (data dirs paper_trading_outputs, logs)"
if [ "$VM" -eq 1 ]; then
  echo "VM:          $SANDBOX_VM_NAME, logged in as $SHIPKEEP_USER (not root); the bot is a user unit:"
  unit status --no-pager -n 0 bot.service | head -n 4 | sed 's/^/             /' || true
fi
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
name="[$SHIPKEEP_HOST]:$SHIPKEEP_PORT"; [ "$SHIPKEEP_PORT" = 22 ] && name=$SHIPKEEP_HOST
echo "$name $(cut -d' ' -f1,2 "$DIR/impostor.pub")" > "$DIR/wrong_known_hosts"
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

if [ "$VM" -eq 1 ]; then
  step "Push a broken commit: bot.service fails to start, and shipkeep rolls back by itself"
  printf '#!/usr/bin/env bash\necho "strategy config missing" >&2\nexit 1\n' > "$SANDBOX_DEVELOPER/bot.sh"
else
  step "Push a broken commit: its health check fails, and shipkeep rolls back by itself"
  printf '#!/usr/bin/env bash\necho "self-test failed: strategy config missing" >&2\nexit 1\n' > "$SANDBOX_DEVELOPER/check.sh"
fi
git -C "$SANDBOX_DEVELOPER" -c user.name=Demo -c user.email=demo@example.invalid commit -q -am "v3: broken"
git -C "$SANDBOX_DEVELOPER" push -q origin HEAD:main
show shipkeep deploy
set +e; "$SHIPKEEP" deploy; code=$?; set -e
echo "(exit $code; live commit is still $(git -C "$SANDBOX_APP_PATH" rev-parse --short=12 HEAD))"

step "Snapshots of the data, one per deploy"
show shipkeep snapshots
"$SHIPKEEP" snapshots

step "Every line the bot wrote is still there"
# Stopped first, so that no half-written last line is counted.
if [ "$VM" -eq 1 ]; then unit stop bot.service; fi
after=$(wc -l < "$out")
gaps=$(awk -F'"seq":' '{split($2,a,","); n=a[1]+0; if (NR>1 && n!=prev+1) g++; prev=n} END {print g+0}' "$out")
dups=$(awk -F'"seq":' '{split($2,a,","); print a[1]+0}' "$out" | sort -n | uniq -d | wc -l)
echo "signals.jsonl: $before lines before the deploys, $after now; $gaps gaps and $dups duplicates in the sequence"
[ "$gaps" -eq 0 ] && [ "$dups" -eq 0 ] || { echo "DATA LOST" >&2; exit 1; }
