#!/usr/bin/env bash
# Runs the libFuzzer harnesses of a fuzz build (make fuzz / make fuzz-smoke).
#
#   fuzz/run.sh fuzz  BUILD_DIR SECONDS [HARNESS...]   each harness SECONDS on its corpus
#   fuzz/run.sh smoke BUILD_DIR SECONDS [HARNESS...]   every saved regression input once, then SECONDS of fuzzing
#
# Corpora: BUILD_DIR/fuzz/corpus/<harness>/ (kept between runs, seeded from
# the seed programs' output in BUILD_DIR/fuzz/seeds/); the smoke fuzzes a
# throw-away copy, from a fixed seed (FUZZ_SEED, default 1; `fuzz` mode draws
# one per run): a smoke takes the same path on every machine as far as its
# time allows. A crash, sanitizer report, leak, timeout (10 s per input)
# or out-of-memory (2 GB) stops that harness and fails the script; its input
# is saved as BUILD_DIR/fuzz/crashes/<harness>/<kind>-<sha1>: fix the parser
# and keep the input in fuzz/regressions/<harness>/. Prints one line per
# harness: seconds, executions, executions/s, corpus files, result.
set -uo pipefail
mode=${1:?usage: fuzz/run.sh fuzz|smoke BUILD_DIR SECONDS [HARNESS...]}
build=${2:?build dir}
seconds=${3:?seconds}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
bin="$build/fuzz"
[[ -f "$bin/harnesses.txt" ]] || { echo "fuzz: no $bin/harnesses.txt: build $build first (make fuzz-build)" >&2; exit 2; }
harnesses=("$@")
((${#harnesses[@]})) || mapfile -t harnesses < "$bin/harnesses.txt"

# Seeds: written by the generators once per build of them.
seeds="$bin/seeds"
if [[ ! -f "$seeds/.done" || "$bin/fuzz_make_seeds" -nt "$seeds/.done" || "$here/make_seeds.py" -nt "$seeds/.done" ]]; then
  rm -rf "$seeds" && mkdir -p "$seeds"
  "$bin/fuzz_make_seeds" "$seeds" || { echo "fuzz: fuzz_make_seeds failed" >&2; exit 1; }
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 "$here/make_seeds.py" "$seeds" || { echo "fuzz: make_seeds.py failed" >&2; exit 1; }
  else
    echo "fuzz: /usr/bin/python3 has no torch (python3-torch): pickle and pth start without seeds" >&2
  fi
  touch "$seeds/.done"
fi

# A sanitizer finding ends the input (libFuzzer saves it); leaks are findings too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
printf '%-14s %8s %12s %10s %8s  %s\n' harness seconds executions execs/s corpus result
for h in "${harnesses[@]}"; do
  exe="$bin/fuzz_$h"
  [[ -x "$exe" ]] || { echo "fuzz: $exe missing" >&2; failed=1; continue; }
  dict=()
  [[ -f "$here/dicts/$h.dict" ]] && dict=(-dict="$here/dicts/$h.dict")
  crashes="$bin/crashes/$h"
  mkdir -p "$crashes"
  log="$bin/logs/$mode-$h.log"
  mkdir -p "$(dirname "$log")"
  result=ok
  if [[ "$mode" == smoke ]]; then
    corpus=$(mktemp -d)
    regressions=("$here/regressions/$h"/*)
    if [[ -e "${regressions[0]}" ]]; then
      # Each saved input once: the parser must now take it without a finding.
      if ! "$exe" "${dict[@]}" -runs=1 "${regressions[@]}" > "$log.regressions" 2>&1; then
        result="REGRESSION (see $log.regressions)"
        failed=1
      fi
    fi
  else
    corpus="$bin/corpus/$h"
    mkdir -p "$corpus"
  fi
  [[ -d "$seeds/$h" ]] && cp -n "$seeds/$h"/* "$corpus"/ 2>/dev/null
  seed=()
  [[ "$mode" == smoke ]] && seed=(-seed="${FUZZ_SEED:-1}")
  start=$(date +%s.%N)
  "$exe" "${dict[@]}" "${seed[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" > "$log" 2>&1
  rc=$?
  end=$(date +%s.%N)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [[ -n "$execs" ]] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  files=$(find "$corpus" -type f | wc -l)
  wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  rate=$(awk -v n="${execs:-0}" -v t="$wall" 'BEGIN { printf "%d", (t > 0 ? n / t : 0) }')
  if ((rc != 0)); then
    result="FINDING rc=$rc (see $log; inputs in $crashes/)"
    failed=1
  fi
  printf '%-14s %8.1f %12s %10s %8s  %s\n' "$h" "$wall" "${execs:-?}" "$rate" "$files" "$result"
  if ((rc != 0)); then
    # CI keeps no files: the input itself, so the finding can be replayed
    # (base64 -d > input; build-fuzz/fuzz/fuzz_<harness> input).
    newest=$(ls -t "$crashes" 2>/dev/null | head -1)
    if [[ -n "$newest" && $(stat -c %s "$crashes/$newest") -le 65536 ]]; then
      echo "  input $newest ($(stat -c %s "$crashes/$newest") bytes), base64:"
      base64 -w 100 "$crashes/$newest" | sed 's/^/    /'
    fi
    grep -m3 -E '^==[0-9]+==ERROR|SUMMARY|out-of-memory' "$log" | sed 's/^/  /'
  fi
  [[ "$mode" == smoke ]] && rm -rf "$corpus"
done
exit $failed
