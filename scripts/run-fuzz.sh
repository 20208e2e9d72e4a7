#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, starting from the
# committed seed corpus (copied, so the repository is not modified). Fails if
# any target finds a crash, leak or sanitizer report.
set -uo pipefail
build=${1:?build dir}
seconds=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
for bin in "$build"/fuzz/*_fuzz; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin" _fuzz)
  work=$(mktemp -d)
  [ -d "$root/fuzz/corpus/$name" ] && cp -r "$root/fuzz/corpus/$name/." "$work/"
  log="$build/fuzz/$name.log"
  if "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$build/fuzz/$name-" \
      "$work" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    echo "fuzz $name: ok, ${runs:-?} executions in ${seconds}s"
    passed=$((passed + 1))
  else
    echo "fuzz $name: FAILED (see $log)"
    tail -n 30 "$log"
    failed=$((failed + 1))
  fi
  rm -rf "$work"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
