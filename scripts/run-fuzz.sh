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

passed=0
failed=()
start=$(date +%s)
fail() {  # target, what, log
  echo "fuzz $1: FAILED: $2"
  echo "  log: $3"
  grep 'Running: ' "$3" | tail -n 1 | sed 's/^Running: /  input: /'
  grep -E '^==[0-9]+==ERROR|^SUMMARY|^[a-z]+_fuzz: |Test unit written' "$3" | cut -c1-300 |
    sed 's/^/  /' | head -n 8
  failed+=("$1")
}

for bin in "${bins[@]}"; do
  [ -x "$bin" ] || { echo "fuzz: FAILED: no target $bin"; failed+=("$bin"); continue; }
  name=$(basename "$bin" _fuzz)
  dict="$seeds/dict/$name.dict"
  len=${max_len[$name]:-}
  if [ -z "$len" ] || [ ! -s "$dict" ]; then
    echo "fuzz $name: FAILED: no -max_len or dictionary for this target in scripts/run-fuzz.sh"
    failed+=("$name")
    continue
  fi
  mapfile -t files < <(find "$root/fuzz/corpus/$name" "$seeds/$name" -type f 2>/dev/null | sort)
  if [ "${#files[@]}" -eq 0 ]; then
    echo "fuzz $name: FAILED: no seeds"
    failed+=("$name")
    continue
  fi

  # 1. Every seed once, whole, so the deep and long ones always run.
  log="$out/$name.seeds.log"
  expect=""
  [ "$name" = api ] && expect=$api_expect
  t0=$(date +%s)
  if ! SB_API_FUZZ_EXPECT="$expect" "$bin" -timeout=120 -artifact_prefix="$out/$name-" \
      "${files[@]}" >"$log" 2>&1; then
    fail "$name" "a seed crashed or failed a check" "$log"
    continue
  fi
  t1=$(date +%s)

  # 2. Fuzzing from the seeds up to 256 KiB (the megabyte ones ran above; as
  # parents they would slow every mutation); new inputs go to a scratch
  # directory. api_fuzz, the slowest per input and the widest, gets twice
  # the time.
  log="$out/$name.log"
  work=$(mktemp -d)
  mkdir "$work/new" "$work/seeds"
  find "$seeds/$name" -type f -size -257k -exec cp {} "$work/seeds/" \;
  time=$seconds
  [ "$name" = api ] && time=$((2 * seconds))
  if "$bin" -max_total_time="$time" -max_len="$len" -dict="$dict" -timeout=60 \
      -print_final_stats=1 -artifact_prefix="$out/$name-" \
      "$work/new" "$root/fuzz/corpus/$name" "$work/seeds" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    echo "fuzz $name: ok, ${#files[@]} seeds in $((t1 - t0))s," \
      "then ${runs:-?} executions in ${time}s"
    passed=$((passed + 1))
  else
    fail "$name" "fuzzing found a crash, leak, hang or failed check" "$log"
  fi
  rm -rf "$work"
done
echo "fuzz: ${passed} passed, ${#failed[@]} failed${failed:+ (${failed[*]})}" \
  "in $(($(date +%s) - start))s"
[ "${#failed[@]}" -eq 0 ] && [ "$passed" -gt 0 ]
