#!/usr/bin/env bash
# Fails when a Foundation module returns to the targets the static agent is built from (Shared, Agent,
# SnapshotArchive, ProcessKit, Platform): full Foundation would bring back ICU's data, and FoundationEssentials
# alone adds about 7 MB (a static hello world is 6.1 MB; the agent's target is 12 MB). Yams and ArgumentParser
# are refused there too: both import Foundation modules. Those targets use the standard library, their own JSON
# coder, Timestamp and Base64 (Sources/Shared) and the C library through Platform. Also fails when Glibc or Darwin
# is imported anywhere in Sources but Sources/Platform, the one seam for the C library.
# `make test` runs it before swift test.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
agent_targets=(Sources/Shared Sources/Agent Sources/SnapshotArchive Sources/ProcessKit Sources/Platform)
forbidden='^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*((public|internal|package|private|fileprivate)[[:space:]]+)?import[[:space:]]+(Foundation|FoundationNetworking|FoundationXML|FoundationInternationalization|Yams)([[:space:]]|$|\.)'
if hits=$(grep -rnE --include='*.swift' "$forbidden" "${agent_targets[@]}"); then
  echo "check-imports: the agent's targets must not import Foundation or Yams:" >&2
  echo "$hits" >&2
  status=1
fi
essentials='^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*((public|internal|package|private|fileprivate)[[:space:]]+)?import[[:space:]]+(Foundation[A-Za-z]*)([[:space:]]|$|\.)'
if hits=$(grep -rnE --include='*.swift' "$essentials" "${agent_targets[@]}"); then
  echo "check-imports: the agent's targets must not import any Foundation module, FoundationEssentials included (7 MB of the static agent):" >&2
  echo "$hits" >&2
  status=1
fi
# swift-argument-parser imports FoundationEssentials: the agent reads its argv itself (Sources/Agent/CommandLine).
if hits=$(grep -rnE --include='*.swift' '^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*import[[:space:]]+ArgumentParser' \
    "${agent_targets[@]}"); then
  echo "check-imports: the agent's targets must not import ArgumentParser (the agent parses argv itself):" >&2
  echo "$hits" >&2
  status=1
fi
libc='^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*((public|internal|package|private|fileprivate)[[:space:]]+)?import[[:space:]]+(Glibc|Darwin|Musl)([[:space:]]|$|\.)'
if hits=$(grep -rnE --include='*.swift' "$libc" Sources | grep -v '^Sources/Platform/'); then
  echo "check-imports: import Platform instead of the C library (Sources/Platform is the one place for it):" >&2
  echo "$hits" >&2
  status=1
fi
# A name qualified by the C library's module (`Glibc.write(…)`) ties the file to Linux as an import would.
if hits=$(grep -rnE --include='*.swift' '(^|[^A-Za-z_.])(Glibc|Darwin|Musl)\.[A-Za-z_]' Sources | grep -v '^Sources/Platform/' \
    | grep -vE '^[^:]+:[0-9]+:[[:space:]]*///?'); then
  echo "check-imports: write Platform.NAME, not Glibc.NAME (Sources/Platform is the one place for the C library):" >&2
  echo "$hits" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "check-imports: ok (no Foundation module, Yams or ArgumentParser in the agent's targets; the C library only through Platform)"
exit "$status"
