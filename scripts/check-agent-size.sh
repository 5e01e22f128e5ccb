#!/usr/bin/env bash
# Fails when the static agent (`make static-agent`, what `make release` strips and `install` uploads to every VM)
# grows past its budget or links a module that costs megabytes for nothing: a Foundation module (ICU's data, or
# FoundationEssentials' 7 MB), ArgumentParser, or `_StringProcessing`/`_RegexParser` (about 1 MB, pulled in by
# one `String.contains(_: String)`; Shared's `includes`/`rangeOf`/`replacingAll` do the agent's searches).
# `make test` runs it after building the static agent.
set -euo pipefail
cd "$(dirname "$0")/.."
agent=${1:-.build-static/release/shipkeep-agent}
budget=${AGENT_SIZE_BUDGET:-12000000}
[ -x "$agent" ] || { echo "check-agent-size: no $agent; run \`make static-agent\` first" >&2; exit 2; }
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
strip -o "$stripped" "$agent"
size=$(stat -c %s "$stripped")
status=0
if [ "$size" -gt "$budget" ]; then
  echo "check-agent-size: the stripped agent is $size bytes, over its budget of $budget bytes" >&2
  status=1
fi
if modules=$(nm "$agent" | awk '{print $NF}' | grep -oE '^\$s[0-9]+(FoundationEssentials|Foundation|_FoundationCollections|FoundationInternationalization|ArgumentParser|_StringProcessing|_RegexParser)' \
    | sed -E 's/^\$s[0-9]+//' | sort -u | tr '\n' ' '); [ -n "$modules" ]; then
  echo "check-agent-size: the static agent links $modules(see the header of scripts/check-agent-size.sh)" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "check-agent-size: ok (stripped agent $size bytes, budget $budget; no Foundation, ArgumentParser or _StringProcessing)"
exit "$status"
