#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR/fuzz: first each seed once, whole
# (the committed fuzz/corpus/<target> and what fuzz/make_seeds.py generates:
# nesting 10^5 deep, inputs at each parser's own size limit), then SECONDS of
# fuzzing (twice that for api_fuzz) from those seeds with the target's
# dictionary and a -max_len above the limits of the surface it fuzzes. Fails,
# naming the target and the input, when any target crashes, leaks, hangs,
# runs out of memory or breaks one of its own checks; the repository is not
# modified.
#
#   scripts/run-fuzz.sh BUILD_DIR [SECONDS]      # SECONDS per target, default 15
#   scripts/run-fuzz.sh BUILD_DIR 3600 api_fuzz  # one target, longer
#
# The long run (`make fuzz-long`) sets three more variables:
#   FUZZ_RUNS=N     stop each target after N executions, or SECONDS, whichever
#                   comes first (libFuzzer's -runs with -max_total_time);
#   FUZZ_JOBS=J     fuzz J targets at once (one per core);
#   FUZZ_KEEP=1     merge the inputs that found new coverage into the
#                   committed corpus fuzz/corpus/<target> (libFuzzer -merge=1,
#                   inputs up to 64 KiB), so the next run starts from there;
#   FUZZ_REPORT=F   append one Markdown table row per target to F.
set -uo pipefail
build=${1:?usage: run-fuzz.sh BUILD_DIR [SECONDS] [TARGET...]}
seconds=${2:-15}
shift $(($# < 2 ? $# : 2))
root=$(cd "$(dirname "$0")/.." && pwd)
out="$build/fuzz"
seeds="$out/seeds"

# Longest input, by target: above the 1 MiB request body limit ([server]
# max_body_bytes) with room for the harness's own fields and 16 KiB of
# headers, the 1 MiB import and CSV record limits, a message body's 256 KiB
# (templates; mail bodies), 64 KiB for one contact field, a run of
# datagrams for DTMF.
declare -A max_len=(
  [api]=1114112 [json]=1114112 [http]=1114112 [import]=1114112 [csv]=1114112
  [policy]=1114112 [contest]=1114112 [template]=266240 [mail]=266240 [contact]=65536
  [dtmf]=70000 [sip]=20000 [leak]=1114112
  [dkim]=266240
)
# Routes whose 2xx answers the seeds must get past api_fuzz's leak check.
api_expect="calling.next,calling.connect,calling.outcome,calls.get,campaigns.update"
api_expect+=",messages.update,messages.preview,members.view,members.contact"
api_expect+=",GET /u/{token},POST /u/{token},GET /preferences/{token},POST /preferences/{token}"

if ! python3 "$root/fuzz/make_seeds.py" "$seeds"; then
  echo "fuzz: FAILED: fuzz/make_seeds.py could not write the seeds"
  exit 1
fi

if [ $# -gt 0 ]; then
  bins=()
  for t in "$@"; do bins+=("$out/$t"); done
else
  bins=("$out"/*_fuzz)
fi

runs_limit=${FUZZ_RUNS:-}
jobs=${FUZZ_JOBS:-1}
keep=${FUZZ_KEEP:-}
report=${FUZZ_REPORT:-}
results="$out/results"
rm -rf "$results"
mkdir -p "$results"
start=$(date +%s)
# Each target's verdict goes to results/<name>: "ok" or "FAILED", so that
# targets can run side by side in subshells.
fail() {  # target, what, log
  {
    echo "fuzz $1: FAILED: $2"
    echo "  log: $3"
    grep 'Running: ' "$3" | tail -n 1 | sed 's/^Running: /  input: /'
    grep -E '^==[0-9]+==ERROR|^SUMMARY|^[a-z]+_fuzz: |Test unit written' "$3" | cut -c1-300 |
      sed 's/^/  /' | head -n 8
  } >"$results/$1.out"
  echo FAILED >"$results/$1"
}

# Merges the inputs of WORK/new that reach coverage neither the committed
# corpus nor the generated seeds reach into fuzz/corpus/NAME; writes how many
# to WORK/added.
keep_inputs() {  # bin name work
  local bin=$1 name=$2 work=$3
  mkdir -p "$root/fuzz/corpus/$name" "$work/base"
  find "$work/new" -type f -size +64k -delete
  find "$root/fuzz/corpus/$name" "$seeds/$name" -type f -size -65k -exec cp {} "$work/base/" \;
  find "$work/base" -type f -printf '%f\n' | sort >"$work/before"
  "$bin" -merge=1 -max_len=65536 "$work/base" "$work/new" >"$out/$name.merge.log" 2>&1 || true
  find "$work/base" -type f -printf '%f\n' | sort | comm -13 "$work/before" - >"$work/added.list"
  # Mutations can make up addresses and numbers outside the reserved ranges;
  # such inputs are not committed.
  (cd "$work/base" && xargs -r python3 "$root/scripts/reserved-data.py" <"$work/added.list") \
    >"$work/outside.list"
  grep -vxF -f "$work/outside.list" "$work/added.list" >"$work/kept.list" || true
  while read -r f; do cp "$work/base/$f" "$root/fuzz/corpus/$name/"; done <"$work/kept.list"
  wc -l <"$work/kept.list" >"$work/added"
}

run_target() {  # bin
  local bin=$1 name dict len files log expect t0 t1 work time runs_flag runs cov added
  name=$(basename "$bin" _fuzz)
  [ -x "$bin" ] || { fail "$name" "no target $bin" /dev/null; return; }
  dict="$seeds/dict/$name.dict"
  len=${max_len[$name]:-}
  if [ -z "$len" ] || [ ! -s "$dict" ]; then
    fail "$name" "no -max_len or dictionary for this target in scripts/run-fuzz.sh" /dev/null
    return
  fi
  mapfile -t files < <(find "$root/fuzz/corpus/$name" "$seeds/$name" -type f 2>/dev/null | sort)
  if [ "${#files[@]}" -eq 0 ]; then
    fail "$name" "no seeds" /dev/null
    return
  fi

  # 1. Every seed once, whole, so the deep and long ones always run.
  log="$out/$name.seeds.log"
  expect=""
  [ "$name" = api ] && expect=$api_expect
  local s0 s1
  s0=$(date +%s)
  if ! SB_API_FUZZ_EXPECT="$expect" "$bin" -timeout=120 -artifact_prefix="$out/$name-" \
      "${files[@]}" >"$log" 2>&1; then
    fail "$name" "a seed crashed or failed a check" "$log"
    return
  fi
  s1=$(date +%s)

  # 2. Fuzzing from the seeds up to 256 KiB (the megabyte ones ran above; as
  # parents they would slow every mutation); new inputs go to a scratch
  # directory. api_fuzz, the slowest per input and the widest, gets twice
  # the time.
  log="$out/$name.log"
  work=$(mktemp -d)
  mkdir "$work/new" "$work/seeds"
  find "$seeds/$name" -type f -size -257k -exec cp {} "$work/seeds/" \;
  time=$seconds
  [ "$name" = api ] && [ -z "$runs_limit" ] && time=$((2 * seconds))
  runs_flag=()
  [ -n "$runs_limit" ] && runs_flag=(-runs="$runs_limit")
  t0=$(date +%s)
  if "$bin" -max_total_time="$time" "${runs_flag[@]}" \
      -max_len="$len" -dict="$dict" -timeout=60 -print_final_stats=1 \
      -artifact_prefix="$out/$name-" \
      "$work/new" "$root/fuzz/corpus/$name" "$work/seeds" >"$log" 2>&1; then
    t1=$(date +%s)
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*')
    added=0
    if [ -n "$keep" ]; then
      # Only what adds coverage beyond the committed corpus and the generated
      # seeds together, and no input above 64 KiB: the corpus stays small
      # enough to review and to run whole in every `make fuzz`.
      keep_inputs "$bin" "$name" "$work"
      added=$(cat "$work/added")
    fi
    echo "fuzz $name: ok, ${#files[@]} seeds in $((s1 - s0))s," \
      "then ${runs:-?} executions in $((t1 - t0))s${keep:+, $added inputs kept}" \
      >"$results/$name.out"
    echo ok >"$results/$name"
    if [ -n "$report" ]; then
      echo "| \`${name}_fuzz\` | ${runs:-?} | $((t1 - t0)) s | ${cov:-?} | $added | none |" \
        >"$results/$name.row"
    fi
  else
    fail "$name" "fuzzing found a crash, leak, hang or failed check" "$log"
    [ -n "$report" ] && echo "| \`${name}_fuzz\` | — | — | — | — | **FAILED**, see $log |" \
      >"$results/$name.row"
  fi
  rm -rf "$work"
}

for bin in "${bins[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  run_target "$bin" &
done
wait

passed=0
failed=()
for bin in "${bins[@]}"; do
  name=$(basename "$bin" _fuzz)
  cat "$results/$name.out" 2>/dev/null
  if [ "$(cat "$results/$name" 2>/dev/null)" = ok ]; then
    passed=$((passed + 1))
  else
    [ -f "$results/$name" ] || echo "fuzz $name: FAILED: the run left no verdict"
    failed+=("$name")
  fi
  [ -n "$report" ] && cat "$results/$name.row" >>"$report" 2>/dev/null
done
echo "fuzz: ${passed} passed, ${#failed[@]} failed${failed:+ (${failed[*]})}" \
  "in $(($(date +%s) - start))s"
[ "${#failed[@]}" -eq 0 ] && [ "$passed" -gt 0 ]
