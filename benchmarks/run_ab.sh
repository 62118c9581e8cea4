#!/usr/bin/env bash
# Two builds of inferbench on this machine, interleaved, so a change that must
# not move the numbers (a refactor) can be shown not to:
#   1. the main job's wall time: `inferbench run --config CONFIG` into a fresh
#      folder (every stage runs), RUN_ROUNDS times per build, order A B / B A;
#   2. B resuming A's finished folder: every stage must be up to date (the
#      stage keys, hashes of the command lines and input contents, unchanged);
#   3. the harness: the single-stream median latency `bench` reports for ONNX
#      Runtime and OpenVINO on one artifact (the first run's MobileNetV2
#      export), ROUNDS times per build and runtime, order A B / B A, each a
#      fresh worker process; per round the ratio B / A.
# Summary: the medians of each and the median of the per-round ratios.
#
# Usage: benchmarks/run_ab.sh A_BIN B_BIN [SECONDS]
#   A_BIN, B_BIN  two inferbench binaries (A: before, B: after)
#   SECONDS       timed seconds per latency measurement (default 10)
# Environment [defaults]: ROUNDS [4] (0: no harness)  RUN_ROUNDS [2]
#   CONFIG [configs/smoke.json] ("default": the main job itself, `run` with no --config)
#   THREADS [1]  RESULTS_DIR [benchmarks/results]  KEEP [0] (1: keep the work folder, named on stderr)
# Writes RESULTS_DIR/ab-<UTC>.md (table, context, every command) and ab-<UTC>.json.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 A_BIN B_BIN [SECONDS]" >&2
  exit 2
fi
a_bin=$(realpath "$1")
b_bin=$(realpath "$2")
seconds=${3:-10}
for b in "$a_bin" "$b_bin"; do [[ -x $b ]] || { echo "$b: not an executable" >&2; exit 2; }; done
[[ $seconds =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "SECONDS must be a number" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
rounds=${ROUNDS:-4}
run_rounds=${RUN_ROUNDS:-2}
config=${CONFIG:-$repo/configs/smoke.json}
config_args=()
if [[ $config != default ]]; then
  config=$(realpath "$config")
  config_args=(--config "$config")
fi
threads=${THREADS:-1}
results=${RESULTS_DIR:-$here/results}
mkdir -p "$results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
base="$results/ab-$stamp"
work=$(mktemp -d)
if [[ ${KEEP:-0} == 1 ]]; then
  echo "== work folder (kept): $work" >&2
else
  trap 'rm -rf "$work"' EXIT
fi
commands="$base-commands.txt"
: > "$commands"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

run() {  # LOG command...: output to LOG; the command line to the commands file
  local log=$1
  shift
  { printf '%q ' "$@"; printf '> %q\n' "${log#"$work"/}"; } >> "$commands"
  "$@" > "$log" 2>&1 || { echo "   failed ($*): $(tail -n 3 "$log")" >&2; return 1; }
}

label() { [[ $1 == "$a_bin" ]] && echo A || echo B; }
order() {  # round: "A B" on odd rounds, "B A" on even ones
  if (($1 % 2)); then echo "$a_bin $b_bin"; else echo "$b_bin $a_bin"; fi
}

# 1. The main job, every stage, fresh folder each time.
declare -A job_s
for ((r = 1; r <= run_rounds; r++)); do
  for bin in $(order "$r"); do
    l=$(label "$bin")
    echo "== main job round $r/$run_rounds build $l" >&2
    t0=$(date +%s.%N)
    run "$work/run-$l-$r.log" "$bin" run "${config_args[@]}" --out "$work/run-$l-$r" || true
    job_s[$l-$r]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
  done
done

# 2. Build B on build A's finished folder: nothing to redo if the keys are unchanged.
echo "== build B resumes build A's finished folder" >&2
run "$work/resume-B-on-A.log" "$b_bin" run "${config_args[@]}" --out "$work/run-A-1" || true

# 3. The harness on one artifact, made by build B's first run.
exp="$work/run-B-1/export/mobilenet_v2"
tensors=$(ls -d "$work"/run-B-1/tensors/test-* 2>/dev/null | head -n 1 || true)
for rt in onnxruntime openvino; do
  artifact="$exp/mobilenet_v2.onnx"
  [[ $rt == openvino ]] && artifact="$exp/mobilenet_v2.xml"
  for ((r = 1; r <= rounds; r++)); do
    for bin in $(order "$r"); do
      l=$(label "$bin")
      echo "== harness $rt round $r/$rounds build $l" >&2
      run "$work/bench-$rt-$l-$r.json" "$bin" -q bench "$artifact" --tensors "$tensors" --backends "$rt" \
        --scenarios single-stream --threads "$threads" --warmup 10 --warmup-seconds 1 --min-count 1 \
        --min-seconds "$seconds" --peak-seconds 0 --db "$work/ab-$l.db" --study "ab-$rt-$r" \
        --work-dir "$work/bench-$l" --json || true
    done
  done
done

jobs_json=$(for k in "${!job_s[@]}"; do printf '"%s": %s,' "$k" "${job_s[$k]}"; done)
/usr/bin/python3 - "$base" "$work" "{${jobs_json%,}}" "$rounds" "$run_rounds" "$seconds" "$threads" "$config" \
  "$a_bin" "$b_bin" "$("$a_bin" --version 2>&1 | head -n 1)" "$("$b_bin" --version 2>&1 | head -n 1)" \
  "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)" "$0 $*" <<'EOF'
import json, os, platform, re, statistics, sys
(base, work, jobs, rounds, run_rounds, seconds, threads, config, a_bin, b_bin, a_ver, b_ver,
 load_start, load_end, command) = sys.argv[1:]
jobs, rounds, run_rounds = json.loads(jobs), int(rounds), int(run_rounds)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")

def median_ms(rt, l, r):
    try:
        run = json.load(open(f"{work}/bench-{rt}-{l}-{r}.json"))["runs"][0]
        return run.get("median_ms"), run.get("count")
    except (OSError, ValueError, KeyError, IndexError):
        return None, None

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

out = {"command": command, "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
       "load_average_start": load_start, "load_average_end": load_end, "config": config,
       "A": {"binary": a_bin, "version": a_ver}, "B": {"binary": b_bin, "version": b_ver},
       "seconds": float(seconds), "threads": int(threads), "main_job_seconds": jobs, "harness": {}}
lines = [f"# A/B: {a_ver} (A) vs {b_ver} (B)", "",
         f"Machine: {cpu}, {os.cpu_count()} cores, kernel {platform.release()}; load {load_start} at the start, "
         f"{load_end} at the end.", f"Command: `{command}`", "",
         f"## Main job (`run{'' if config == 'default' else ' --config ' + os.path.basename(config)}`, fresh folder, every stage)", "",
         "| round | A s | B s | B / A |", "|---|---|---|---|"]
ratios = []
for r in range(1, run_rounds + 1):
    a, b = jobs.get(f"A-{r}"), jobs.get(f"B-{r}")
    ratio = b / a if a and b else None
    ratios.append(ratio)
    lines.append(f"| {r} | {a:.1f} | {b:.1f} | {ratio:.3f} |" if ratio else f"| {r} | {a} | {b} | - |")
out["main_job_ratio_median"] = med(ratios)
resume = open(f"{work}/resume-B-on-A.log", errors="replace").read().splitlines()
heads = {}  # "[run i/n] title" -> its lines (a stage that runs prints a start and an end line)
for l in resume:
    m = re.match(r"^(\[run \d+/\d+\] [^:(]*)", l)
    if m:
        heads.setdefault(m.group(1).strip(), []).append(l)
stages = list(heads)
skipped = [h for h in stages if any(": up to date, skipped" in l for l in heads[h])]
out["resume_b_on_a"] = {"stages": len(stages), "up_to_date": len(skipped),
                        "redone": [h for h in stages if h not in skipped]}
lines += ["", f"Median B / A: {med(ratios):.3f}" if med(ratios) else "Median B / A: -", "",
          f"B run on A's finished folder: {len(skipped)} of {len(stages)} stages up to date"
          + ("" if len(skipped) == len(stages) else "; redone: " + "; ".join(out["resume_b_on_a"]["redone"])), "",
          f"## Harness: single-stream median latency, MobileNetV2, {threads} thread(s), {seconds} s per run", "",
          "| runtime | round | A median ms | B median ms | B / A |", "|---|---|---|---|---|"]
for rt in ("onnxruntime", "openvino"):
    rows = []
    for r in range(1, rounds + 1):
        (a, na), (b, nb) = median_ms(rt, "A", r), median_ms(rt, "B", r)
        rows.append({"round": r, "A_median_ms": a, "A_count": na, "B_median_ms": b, "B_count": nb,
                     "ratio": b / a if a and b else None})
        lines.append(f"| {rt} | {r} | {a:.4f} | {b:.4f} | {b / a:.3f} |" if a and b else f"| {rt} | {r} | {a} | {b} | - |")
    summary = {"A_median_ms": med(x["A_median_ms"] for x in rows), "B_median_ms": med(x["B_median_ms"] for x in rows),
               "ratio_median": med(x["ratio"] for x in rows), "rounds": rows}
    out["harness"][rt] = summary
    if summary["ratio_median"]:
        lines.append(f"| {rt} | median | {summary['A_median_ms']:.4f} | {summary['B_median_ms']:.4f} | "
                     f"{summary['ratio_median']:.3f} |")
lines += ["", f"Commands: `{os.path.basename(base)}-commands.txt`; raw numbers: `{os.path.basename(base)}.json`."]
json.dump(out, open(base + ".json", "w"), indent=2)
open(base + ".md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
