#!/usr/bin/env bash
# Fuzzes the wire protocol (LineFramer, header, request and event decoding, encode/decode round trip) with
# libFuzzer for FUZZ_SECONDS (default 600). `make fuzz` runs it long; `make test` runs a short bounded one.
# The target is built with `swiftc -sanitize=fuzzer,address` straight over the Shared protocol sources.
# New inputs go to .build/fuzz/corpus; Fuzz/corpus holds the committed seeds and regression inputs.
# Prints libFuzzer's totals and a closing "fuzz: N execs in S s (R execs/s)" line; a crash exits non-zero
# and leaves the input in .build/fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFTC=${SWIFTC:-swiftc}
seconds=${FUZZ_SECONDS:-600}
out=.build/fuzz
mkdir -p "$out/corpus"
sources=(Sources/Shared/Protocol/*.swift Sources/Shared/Status/*.swift Sources/Shared/Support/*.swift Sources/Shared/History/*.swift
         Sources/Shared/Vocabulary/*.swift
         Fuzz/ProtocolFuzzer.swift)
binary=$out/protocol-fuzzer
# Rebuild only when a source changed.
if [ ! -x "$binary" ] || [ -n "$(find "${sources[@]}" Sources/Platform -newer "$binary" 2>/dev/null)" ]; then
  echo "fuzz: building $binary" >&2
  # The linker's notes about ASan's local symbols are noise; show the output only when the build fails.
  # Platform (the C library seam; Timestamp reads the clock through it) is built first as its own module, as
  # SwiftPM builds it. `-package-name` as SwiftPM passes it: Shared has `package` declarations (JSONValue).
  mkdir -p "$out/modules"
  if ! { "$SWIFTC" -sanitize=address -parse-as-library -O -g -module-name Platform -emit-module \
          -emit-module-path "$out/modules/Platform.swiftmodule" -emit-library -static -o "$out/libPlatform.a" \
          Sources/Platform/*.swift \
      && "$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -g -module-name ShipkeepProtocolFuzz \
          -package-name shipkeep -I "$out/modules" -L "$out" -lPlatform "${sources[@]}" -o "$binary"; } >"$out/build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$out/build.log" >&2
    echo "fuzz: building the libFuzzer target failed (swiftc -sanitize=fuzzer needs the Linux toolchain)" >&2
    exit 1
  fi
fi
log=$out/last-run.log
set +e
"$binary" -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=8192 -timeout=10 -print_final_stats=1 \
  -dict=Fuzz/protocol.dict -artifact_prefix="$out/" "$out/corpus" Fuzz/corpus >"$log" 2>&1
status=$?
set -e
grep -E "^(stat::|INFO: Loaded|Done|==[0-9]+==|SUMMARY|.*Fatal error|.*deadly signal)" "$log" >&2 || true
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
# libFuzzer's own elapsed time ("Done N runs in S second(s)") is the denominator for the rate.
elapsed=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
if [ "$status" -ne 0 ]; then
  tail -40 "$log" >&2
  echo "fuzz: FAILED (libFuzzer exit $status) after ${runs:-?} execs; reproduce with: $binary $out/crash-*" >&2
  exit "$status"
fi
elapsed=${elapsed:-$seconds}
[ "$elapsed" -gt 0 ] || elapsed=1
echo "fuzz: ${runs:-0} execs in ${elapsed} s ($(( ${runs:-0} / elapsed )) execs/s), corpus $(ls "$out/corpus" | wc -l) new + $(ls Fuzz/corpus | wc -l) seed inputs"
