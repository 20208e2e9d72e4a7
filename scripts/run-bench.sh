#!/usr/bin/env bash
# Runs the benchmarks and prints a Markdown summary to stdout and to
# build/bench-results.md. Figures are medians of several runs; baselines are
# measured in the same run. Usage: scripts/run-bench.sh BUILD_DIR [MEMBERS]
# SB_BENCH_ONLY: a comma-separated list of sections to run (store, p1, p2, p4,
# import, p3, p6, p9, p7p8), e.g. SB_BENCH_ONLY=p3; default all.
set -euo pipefail
build=${1:?build dir}
members=${2:-${SB_BENCH_MEMBERS:-1000000}}
runs=${SB_BENCH_RUNS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$build/switchboard"
work=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench-XXXXXX")
p3_baseline="$root/bench/baselines/phonebank/run.sh"
cleanup() {
  [ -f "$work/p3-pg/pgdir" ] && "$p3_baseline" stop "$work/p3-pg"
  rm -rf "$work"
}
trap cleanup EXIT
only=${SB_BENCH_ONLY:-all}
want() { [ "$only" = all ] || [[ ",$only," == *",$1,"* ]]; }
out="$root/build/bench-results.md"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# A Google Benchmark binary's aggregates and medians, fenced:
#   gbench BINARY [FLAG...]
# Each run gets SB_BENCH_DIR; a "NAME_bench:" line is a benchmark saying why
# it could not run.
gbench() {
  echo '```'
  SB_BENCH_DIR="$work" "$@" --benchmark_repetitions="$runs" --benchmark_report_aggregates_only=true \
    2>&1 | grep -E 'Benchmark|median|---|_bench:'
  echo '```'
}

{
echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
if want store; then
echo "## Durable writes: group commit vs one transaction per write (SQLite, WAL, synchronous=FULL)"
echo
gbench "$build/bench/store_bench" --benchmark_counters_tabular=true
echo
fi
if want p1; then
echo "## P1: access decisions in process, warm (target: median <= 0.5 us, >= 2 M/s per core)"
echo
gbench "$build/bench/access_bench"
echo
fi
if want p2 && [ -x "$build/bench/audit_bench" ]; then
  echo "## P2: audit log (target: >= 200 k durable appends/s, verification >= 1 M events/s)"
  echo
  gbench "$build/bench/audit_bench"
  echo
fi
if want p4 && [ -x "$build/bench/segment_bench" ]; then
  seg_sizes=${SB_SEGMENT_MEMBERS:-1000000}
  echo "## P4: audience query, region + status + phone consent + not contacted since (target: <= 20 ms over 1 M, <= 200 ms over 10 M)"
  echo
  echo "Sizes: $seg_sizes (SB_SEGMENT_MEMBERS, comma-separated; e.g. 1000000,10000000). Baseline: the same COUNT(*) in SQLite."
  echo
  SB_SEGMENT_MEMBERS="$seg_sizes" gbench "$build/bench/segment_bench"
  echo
fi
if want import; then
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
echo
fi
if want p3 && [ -x "$build/bench/phonebank_load" ]; then
  # P3: bench/phonebank_load.cc drives `switchboard serve`; the baseline is
  # bench/baselines/phonebank (PostgreSQL 15, row-level security, pgbench) on
  # the same members, audience and callers. Runs alternate: ours, then the
  # baseline, SB_BENCH_RUNS times; with SB_P3_PG=1 (the default) also ours on
  # the PostgreSQL store, in the baseline's cluster. Any run that cannot be
  # trusted (phonebank_load's or the baseline's own checks) stops the
  # benchmark with its reasons on stderr and a non-zero exit.
  p3_members=${SB_P3_MEMBERS:-500000}  # about 209,000 targets: 20 s at 20 k requests/s leases 133,000
  p3_callers=${SB_P3_CALLERS:-1000}
  p3_seconds=${SB_P3_SECONDS:-15}
  p3_warmup=${SB_P3_WARMUP:-5}
  p3_pg_warmup=${SB_P3_PG_WARMUP:-20}  # 1,000 fresh backends need longer to warm up
  p3_threads=${SB_P3_THREADS:-64}
  p3_rate=${SB_P3_RATE:-4000}            # offered load of the latency runs
  p3_pg_few=${SB_P3_PG_FEW_CLIENTS:-16}  # the baseline where it does best
  p3_on_pg=${SB_P3_PG:-1}                # ours on the PostgreSQL store too
  # One step of P3: its JSON (tagged with KIND) to the runs, or the stop.
  p3_step() {
    local kind=$1
    shift
    if ! "$@" >"$work/p3-step.json" 2>"$work/p3-step.err"; then
      echo "P3: this step failed: $*" >&2
      cat "$work/p3-step.err" >&2
      echo "**P3 stopped: a run could not be trusted (\`$kind\`); the reasons are on stderr.**"
      exit 1
    fi
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['kind']=sys.argv[2]; print(json.dumps(d))" \
      "$work/p3-step.json" "$kind" >>"$work/p3-runs.jsonl"
  }
  echo "## P3: phone-bank traffic over HTTP, $p3_callers callers (target: >= 20 k requests/s, p99 <= 20 ms, >= 5x the PostgreSQL baseline)"
  echo
  "$build/bench/phonebank_load" prepare --dir "$work/p3" --bin "$bin" --members "$p3_members" \
    --callers "$p3_callers" --server-threads "$p3_threads" >"$work/p3-prepare.json"
  "$p3_baseline" setup "$work/p3-pg" "$work/p3/template/switchboard.db" >/dev/null
  if [ "$p3_on_pg" = 1 ]; then
    p3_url=$("$p3_baseline" database "$work/p3-pg" switchboard_p3 2>/dev/null)
    "$build/bench/phonebank_load" prepare --dir "$work/p3pg" --bin "$bin" \
      --members "$p3_members" --callers "$p3_callers" --server-threads "$p3_threads" \
      --store "$p3_url" >/dev/null
  fi
  : >"$work/p3-runs.jsonl"
  for _ in $(seq "$runs"); do
    for mode in closed rate; do
      rate=0
      [ "$mode" = rate ] && rate=$p3_rate
      p3_step "$mode" "$build/bench/phonebank_load" run --dir "$work/p3" --bin "$bin" \
        --callers "$p3_callers" --server-threads "$p3_threads" --seconds "$p3_seconds" \
        --warmup "$p3_warmup" --rate "$rate"
    done
    if [ "$p3_on_pg" = 1 ]; then
      p3_step closed_pg "$build/bench/phonebank_load" run --dir "$work/p3pg" --bin "$bin" \
        --callers "$p3_callers" --server-threads "$p3_threads" --seconds "$p3_seconds" \
        --warmup "$p3_warmup" --rate 0
    fi
    for clients in "$p3_callers" "$p3_pg_few"; do
      warm=$p3_warmup
      [ "$clients" = "$p3_callers" ] && warm=$p3_pg_warmup
      p3_step pg "$p3_baseline" run "$work/p3-pg" "$p3_seconds" "$warm" "$clients"
    done
  done
  "$p3_baseline" stop "$work/p3-pg"
  python3 "$root/bench/phonebank_report.py" "$work/p3-prepare.json" "$work/p3-runs.jsonl" "$p3_rate"
  echo
fi
if want p9 && [ -x "$build/bench/sip_load" ]; then
  # P9: bench/sip_load.cc places bridged calls through `switchboard serve`
  # with SIPp as the trunk and both phones; the baseline is the sandbox
  # connector through the same API path. Runs alternate: SIP over UDP, the
  # sandbox, SIP over TCP, all at the target rate; then SIP over UDP at the
  # high rate (headroom), unless SB_P9_HIGH_RATE=0.
  p9_callers=${SB_P9_CALLERS:-240}
  p9_rate=${SB_P9_RATE:-100}           # calls set up per second offered (the target)
  p9_hold=${SB_P9_HOLD:-2.1}           # seconds each call stays up: ~rate x hold bridged at once
  p9_high_rate=${SB_P9_HIGH_RATE:-200}
  p9_high_hold=${SB_P9_HIGH_HOLD:-1.0}
  p9_seconds=${SB_P9_SECONDS:-20}
  p9_warmup=${SB_P9_WARMUP:-5}
  echo "## P9: bridged calls through SIP, about $(echo "$p9_rate * $p9_hold / 1" | bc) at once (target: >= 100 call set-ups/s, call -> member ringing p99 <= 100 ms)"
  echo
  "$build/bench/sip_load" prepare --dir "$work/p9" --bin "$bin" --callers "$p9_callers" \
    --members "${SB_P9_MEMBERS:-20000}" >"$work/p9-prepare.json" 2>"$work/p9-prepare.log"
  : >"$work/p9-runs.jsonl"
  specs=("sip udp $p9_rate $p9_hold" "sandbox udp $p9_rate $p9_hold" "sip tcp $p9_rate $p9_hold")
  [ "$p9_high_rate" != 0 ] && specs+=("sip udp $p9_high_rate $p9_high_hold")
  for _ in $(seq "$runs"); do
    for spec in "${specs[@]}"; do
      set -- $spec
      SB_SOURCE_DIR="$root" "$build/bench/sip_load" run --dir "$work/p9" --bin "$bin" \
        --callers "$p9_callers" --connector "$1" --transport "$2" --rate "$3" --hold "$4" \
        --seconds "$p9_seconds" --warmup "$p9_warmup" 2>/dev/null >>"$work/p9-runs.jsonl" || true
    done
  done
  python3 "$root/bench/sip_report.py" "$work/p9-prepare.json" "$work/p9-runs.jsonl"
  echo
fi
if want p7p8 && [ -x "$build/bench/scale_bench" ]; then
  # P7 and P8: bench/scale_bench.cc starts `switchboard serve` over N members
  # SB_SCALE_STARTS times and reads /proc; SQLite data directories (and the
  # CSVs) are kept in SB_SCALE_CACHE between runs, PostgreSQL is loaded anew
  # in a throwaway cluster on the same disk. Warm page cache unless
  # SB_SCALE_COLD=1 (drops the page cache before each start; root only).
  scale_sizes=${SB_SCALE_MEMBERS:-1000000,10000000}
  scale_backends=${SB_SCALE_BACKENDS:-sqlite,postgres}
  scale_cache=${SB_SCALE_CACHE:-$root/build/scale-cache}
  scale_starts=${SB_SCALE_STARTS:-5}
  scale_cold=()
  scale_cache_state=warm
  [ "${SB_SCALE_COLD:-0}" = 1 ] && scale_cold=(--cold) && scale_cache_state=cold
  mkdir -p "$scale_cache"
  echo "## P7, P8: serve's memory and time to ready (targets at 1 M members: <= 1.5 GiB resident, ready <= 2 s)"
  echo
  echo "Sizes: $scale_sizes (SB_SCALE_MEMBERS); backends: $scale_backends (SB_SCALE_BACKENDS); $scale_starts starts each, medians; page cache $scale_cache_state."
  echo
  : >"$work/scale-runs.jsonl"
  for n in ${scale_sizes//,/ }; do
    csv="$scale_cache/members-$n.csv"
    [ -s "$csv" ] || python3 "$root/bench/make_members_csv.py" "$csv" "$n" 1 "$root/data/constituencies.csv"
    for backend in ${scale_backends//,/ }; do
      dir="$scale_cache/$backend-$n"
      # PostgreSQL's cluster goes on disk beside the cache, not on /dev/shm.
      # PostgreSQL is loaded with `generate members`: `import` into PostgreSQL
      # took 13 minutes for its first 20,000 rows on a loaded machine.
      source=import
      [ "$backend" = postgres ] && source=${SB_SCALE_PG_SOURCE:-generate}
      SB_PG_TMPDIR="$scale_cache" "$build/bench/scale_bench" --dir "$dir" --bin "$bin" --csv "$csv" \
        --members "$n" --backend "$backend" --source "$source" --starts "$scale_starts" \
        --threads "${SB_SCALE_THREADS:-2}" "${scale_cold[@]}" \
        2>"$work/scale-$backend-$n.log" >>"$work/scale-runs.jsonl" ||
        echo "- scale_bench failed for $n on $backend: $(tail -1 "$work/scale-$backend-$n.log")"
      [ "$backend" = postgres ] && rm -rf "$dir"  # its database went with the cluster
    done
  done
  python3 "$root/bench/scale_report.py" "$work/scale-runs.jsonl"
  echo
  echo "Cached SQLite data: $(du -sh "$scale_cache" | cut -f1) in $scale_cache (remove it when done)."
  echo
fi
if want p6 && [ ! -x /usr/sbin/smtp-sink ]; then
  echo "## P6: not run: Postfix's smtp-sink is missing (scripts/setup.sh --bench installs it)"
  echo
fi
if want p6 && [ -x /usr/sbin/smtp-sink ]; then
  # P6: bench/email_load.py drives `switchboard serve` through the HTTP API;
  # the SMTP server is Postfix's smtp-sink on loopback (installed by
  # `scripts/setup.sh --bench`); baselines in the same run (see the script).
  p6_members=${SB_P6_MEMBERS:-552000}  # about 500,000 of them have an e-mail address
  p6_workers=${SB_P6_WORKERS:-16}
  p6_window=${SB_P6_WINDOW:-100000}
  echo "## P6: member e-mail, $p6_members members (target: 500 k queued <= 20 s; >= 2,000 delivered/s)"
  echo
  /usr/bin/python3 "$root/bench/email_load.py" --bin "$bin" --dir "$work/p6" \
    --members "$p6_members" --rounds "$runs" --workers "$p6_workers" --window "$p6_window" \
    >"$work/p6-runs.jsonl"
  python3 "$root/bench/email_report.py" "$work/p6-runs.jsonl"
  echo
  echo "Per message, in process (bench/mail_bench: GMime rendering; DKIM signing by our signer,"
  echo "RSA and RSA+Ed25519, and by libopendkim as before; the RSA-2048 signature alone):"
  echo
  gbench "$build/bench/mail_bench"
  echo
fi
} | tee "$out"
