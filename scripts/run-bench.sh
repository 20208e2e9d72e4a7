#!/usr/bin/env bash
# Runs the benchmarks and prints a Markdown summary to stdout and to
# build/bench-results.md. Figures are medians of several runs; baselines are
# measured in the same run. Usage: scripts/run-bench.sh BUILD_DIR [MEMBERS]
set -euo pipefail
build=${1:?build dir}
members=${2:-${SB_BENCH_MEMBERS:-1000000}}
runs=${SB_BENCH_RUNS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$build/switchboard"
work=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
out="$root/build/bench-results.md"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

{
echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
echo "## Durable writes: group commit vs one transaction per write (SQLite, WAL, synchronous=FULL)"
echo
echo '```'
SB_BENCH_DIR="$work" "$build/bench/store_bench" --benchmark_repetitions="$runs" \
  --benchmark_report_aggregates_only=true --benchmark_counters_tabular=true 2>/dev/null \
  | grep -E 'Benchmark|median|---'
echo '```'
echo
echo "## P1: access decisions in process, warm (target: median <= 0.5 us, >= 2 M/s per core)"
echo
echo '```'
"$build/bench/access_bench" --benchmark_repetitions="$runs" --benchmark_report_aggregates_only=true \
  2>/dev/null | grep -E 'Benchmark|median|---'
echo '```'
echo
if [ -x "$build/bench/audit_bench" ]; then
  echo "## P2: audit log (target: >= 200 k durable appends/s, verification >= 1 M events/s)"
  echo
  echo '```'
  SB_BENCH_DIR="$work" "$build/bench/audit_bench" --benchmark_repetitions="$runs" \
    --benchmark_report_aggregates_only=true 2>/dev/null | grep -E 'Benchmark|median|---'
  echo '```'
  echo
fi
if [ -x "$build/bench/segment_bench" ]; then
  seg_sizes=${SB_SEGMENT_MEMBERS:-1000000}
  echo "## P4: audience query, region + status + phone consent + not contacted since (target: <= 20 ms over 1 M, <= 200 ms over 10 M)"
  echo
  echo "Sizes: $seg_sizes (SB_SEGMENT_MEMBERS, comma-separated; e.g. 1000000,10000000). Baseline: the same COUNT(*) in SQLite."
  echo
  echo '```'
  SB_BENCH_DIR="$work" SB_SEGMENT_MEMBERS="$seg_sizes" "$build/bench/segment_bench" \
    --benchmark_repetitions="$runs" --benchmark_report_aggregates_only=true 2>&1 \
    | grep -E 'Benchmark|median|---|segment_bench:'
  echo '```'
  echo
fi
echo "## Import of $members members (native CSV; validation, E.164 parsing, encryption, blind indexes)"
echo
python3 "$root/bench/make_members_csv.py" "$work/members.csv" "$members" 1 "$root/data/constituencies.csv"
echo "CSV: $(du -h "$work/members.csv" | cut -f1)"
ours=()
for i in $(seq "$runs"); do
  rm -rf "$work/data"
  "$bin" init --data-dir "$work/data" >/dev/null
  s=$("$bin" import members "$work/members.csv" --data-dir "$work/data" --unit-column constituency \
      --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  ours+=("$s")
done
# Baseline in the same run: the sqlite3 shell's .import of the same file into
# an unindexed table (no validation, no encryption, no indexes): the floor.
base=()
for i in $(seq "$runs"); do
  rm -f "$work/base.db"
  t0=$(date +%s.%N)
  sqlite3 "$work/base.db" -cmd 'PRAGMA journal_mode=WAL' -cmd '.mode csv' \
    ".import $work/members.csv members" >/dev/null
  t1=$(date +%s.%N)
  base+=("$(echo "$t1 - $t0" | bc -l)")
done
m_ours=$(printf '%s\n' "${ours[@]}" | median)
m_base=$(printf '%s\n' "${base[@]}" | median)
echo
echo "| measure | runs (s) | median (s) | rows/s |"
echo "| --- | --- | --- | --- |"
echo "| switchboard import | ${ours[*]} | $m_ours | $(echo "$members / $m_ours" | bc) |"
echo "| baseline: sqlite3 .import, no checks | ${base[*]} | $m_base | $(echo "$members / $m_base" | bc) |"
echo
echo "Ratio (ours / floor): $(echo "scale=1; $m_ours / $m_base" | bc)x"
} | tee "$out"
