#!/usr/bin/env bash
# scripts/run-tests.sh — every test of the package, in TEST_SHARDS `swift test` processes side by side (default 2),
# each shard's output prefixed with its number and kept in .build/test-output-K.txt (all of it, unprefixed, in
# .build/test-output.txt). Exits 1 when any shard failed, naming the failed tests.
#
# Why shards: swift-testing runs synchronous test bodies on Swift's cooperative pool, one thread per core, and
# nearly every test here waits on real processes (sshd, the agent, git, a VM). On 2 cores one `swift test` keeps
# only two tests running at a time while the CPU idles; two processes keep four. Suites are dealt whole, in name
# order, to the shards in turn, so a `.serialized` suite stays serialized and the end-to-end suites are spread.
#
# Environment: SWIFT (default swift), SWIFT_FLAGS (the Makefile's, e.g. -Xswiftc -warnings-as-errors: the build
# here and the shards' must use the same flags), TEST_SHARDS (1 runs one plain `swift test`).
set -uo pipefail
cd "$(dirname "$0")/.."
swift=${SWIFT:-swift}
read -r -a flags <<<"${SWIFT_FLAGS:-}"
shards=${TEST_SHARDS:-2}
case $shards in '' | *[!0-9]* | 0) echo "run-tests: TEST_SHARDS must be a positive number, not '$shards'" >&2; exit 64 ;; esac

"$swift" build --build-tests "${flags[@]}" || exit 1
list=$("$swift" test list --skip-build "${flags[@]}" 2>/dev/null) || { echo "run-tests: swift test list failed" >&2; exit 1; }
mapfile -t suites < <(printf '%s\n' "$list" | grep '/' | cut -d/ -f1 | sort -u)
[ "${#suites[@]}" -gt 0 ] || { echo "run-tests: no tests found" >&2; exit 1; }
[ "$shards" -le "${#suites[@]}" ] || shards=${#suites[@]}
echo "run-tests: $(printf '%s\n' "$list" | grep -c '/') tests in ${#suites[@]} suites, $shards shard(s)"

# One alternation per shard: ^(Module\.SuiteA|Module\.SuiteB)/
declare -a filters
for i in "${!suites[@]}"; do
    k=$((i % shards))
    filters[k]+="${filters[k]:+|}${suites[i]//./\\.}"
done

pids=()
for ((k = 0; k < shards; k++)); do
    (
        "$swift" test --skip-build "${flags[@]}" --filter "^(${filters[k]})/" 2>&1 \
            | tee ".build/test-output-$k.txt" | sed -u "s/^/[$((k + 1))] /"
        exit "${PIPESTATUS[0]}"
    ) &
    pids+=($!)
done
status=0
for k in "${!pids[@]}"; do
    wait "${pids[k]}" || status=1
done

cat $(for ((k = 0; k < shards; k++)); do echo ".build/test-output-$k.txt"; done) >.build/test-output.txt
echo
for ((k = 0; k < shards; k++)); do
    echo "shard $((k + 1)): $(grep -aE 'Test run with [0-9]+ test' ".build/test-output-$k.txt" | tail -n 1 || echo 'no summary (did it crash?)')"
done
if [ $status -ne 0 ]; then
    echo "run-tests: FAILED:"
    grep -ahE '^✘ Test .* (failed|recorded an issue)' .build/test-output-*.txt | cut -c1-240 | sort -u | sed 's/^/  /'
fi
exit $status
