#!/usr/bin/env bash
# Harness overhead: the single-stream median latency `inferbench bench` reports
# for ONNX Runtime and OpenVINO against a bare C++ loop around the same SDK call
# (BUILD_DIR/benchmarks/harness_bare, same artifact, same settings) and, for
# OpenVINO, against the benchmark_app that ships in the openvino wheel. Goal:
# inferbench within 2% of both.
#
# One artifact for everything: a tiny synthetic set (`data synth`, 6 images per
# class), `data split`, the test split preprocessed at SIZE (`data
# export-tensors`, the bench input), MODEL trained for one epoch at SIZE and
# exported to ONNX and OpenVINO IR. The weights hardly matter: only latency is
# measured. ONNX Runtime runs MODEL.onnx, OpenVINO MODEL.xml, in every tool.
#
# Rounds: each round measures, per runtime, inferbench then the bare loop (then
# benchmark_app); even rounds run the tools in the reverse order, so drift over
# the run favours none. One process per measurement. Summary: per round and
# runtime the three medians and the ratios inferbench/bare and
# inferbench/benchmark_app, then the median over rounds of each (the ratios'
# median is the median of the per-round, paired ratios).
#
# Usage: benchmarks/run_harness.sh BUILD_DIR [SECONDS]
#   SECONDS  timed seconds per measurement, a whole number (default 10)
# Environment (defaults in brackets):
#   ROUNDS [3]  THREADS [1]  SIZE [64]  MODEL [mobilenet_v2]  WARMUP_S [1]
#   INFERBENCH [BUILD_DIR/src/cli/inferbench]  BENCHMARK_APP [<repo>/.deps/venv/bin/benchmark_app]
#   RESULTS_DIR [benchmarks/results]
# Writes RESULTS_DIR/harness-<UTC>.md (table, context, every command run) and
# beside it harness-<UTC>-{context,summary}.json, harness-<UTC>-commands.txt and
# one raw harness-<UTC>-r<round>-<runtime>-<tool>.{json,log} per measurement.
# Needs: the inferbench and harness_bare targets built (Release) with ONNX Runtime
# and OpenVINO (scripts/install_sdks.sh); LibTorch for `train`/`export`.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [SECONDS]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)  # absolute: the artifact is made in a temporary folder
seconds=${2:-10}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "SECONDS must be a whole number >= 1 (benchmark_app -t takes one)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
python=/usr/bin/python3

rounds=${ROUNDS:-3}
threads=${THREADS:-1}
size=${SIZE:-64}
model=${MODEL:-mobilenet_v2}
warmup_s=${WARMUP_S:-1}
inferbench=${INFERBENCH:-$build/src/cli/inferbench}
bare=$build/benchmarks/harness_bare
benchmark_app=${BENCHMARK_APP:-$repo/.deps/venv/bin/benchmark_app}

[[ -x $inferbench ]] || { echo "no $inferbench: build the inferbench target first (or set INFERBENCH)" >&2; exit 2; }
[[ -x $bare ]] || { echo "no $bare: build the harness_bare target first" >&2; exit 2; }
[[ -x $benchmark_app ]] || { echo "no $benchmark_app: install the openvino wheel (scripts/install_sdks.sh)" >&2; exit 2; }
backends=$("$inferbench" backends 2>&1)
for b in onnxruntime openvino; do
  grep -Eq "^$b +available" <<< "$backends" || { echo "$inferbench: backend $b is not available" >&2; exit 2; }
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=${RESULTS_DIR:-"$here/results"}
mkdir -p "$results"
results=$(cd "$results" && pwd)
base="$results/harness-$stamp"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
cores=$(nproc)
if awk -v l="${load_start%% *}" -v c="$cores" 'BEGIN { exit !(l > 0.25 * c) }'; then
  echo "warning: load average $load_start on $cores cores; the figures will not be trustworthy" >&2
fi

# Every command goes to the commands file before it runs: the record shows exactly what ran.
commands="$base-commands.txt"
: > "$commands"
run() {  # STDOUT_FILE command...: stdout to the file, stderr to STDOUT_FILE.err (kept only on failure)
  local out=$1
  shift
  { printf '%q ' "$@"; printf '> %q\n' "${out#"$work"/}"; } >> "$commands"
  if "$@" > "$out" 2> "$out.err"; then
    rm -f "$out.err"
  else
    echo "   failed ($*): $(tail -n 3 "$out.err")" >&2
    return 1
  fi
}

echo "== artifact: $model at ${size}x${size} in $work" >&2
printf '# artifact, in a temporary folder\ncd %q\n' "$work" >> "$commands"
(
  cd "$work"
  run synth.log "$inferbench" -q data synth --out synth --per-class 6 --size 64 --threads 1
  run split.log "$inferbench" -q data split --data synth --out data --no-balance-test --threads 1
  run tensors.log "$inferbench" -q data export-tensors --manifest data/manifest.csv --split test --size "$size" \
    --out tensors --threads 1
  run train.log "$inferbench" -q train --manifest data/manifest.csv --model "$model" --size "$size" --epochs 1 \
    --out train
  run export.log "$inferbench" -q export train/model.ckpt --format onnx,openvino --out export
)
onnx="$work/export/$model.onnx"
xml="$work/export/$model.xml"
# benchmark_app accepts -nthreads only with -hint none; a config file sets the
# backend's three properties as inferbench's OpenVINO backend does. -ip f32: its
# default for an image-like input is u8 (a conversion added to the model).
ba_config="$base-benchmark_app-config.json"
printf '{"CPU": {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": "%s", "INFERENCE_PRECISION_HINT": "f32"}}\n' \
  "$threads" > "$ba_config"

"$python" - "$base-context.json" "$0 $*" "$load_start" "$("$inferbench" --version 2>&1 || true)" "$backends" \
  "$rounds" "$seconds" "$threads" "$size" "$model" "$warmup_s" <<'EOF'
import json, os, platform, sys
out, command, load, version, backends, rounds, seconds, threads, size, model, warmup_s = sys.argv[1:]
cpuinfo = open("/proc/cpuinfo").read().splitlines()
field = lambda name: next((l.split(":", 1)[1].strip() for l in cpuinfo if l.startswith(name)), "?")
def read(path):
    try:
        return open(path).read().strip()
    except OSError:
        return None
ctx = {"command": command, "cpu": field("model name"), "cpu_mhz": field("cpu MHz"), "cores": os.cpu_count(),
       "kernel": platform.release(), "governor": read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
       "load_average_start": load, "inferbench_version": version, "inferbench_backends": backends,
       "rounds": int(rounds), "seconds": int(seconds), "threads": int(threads), "size": int(size), "model": model,
       "warmup_seconds": float(warmup_s)}
json.dump(ctx, open(out, "w"), indent=2)
EOF

# One measurement; a failure leaves its .err file and the run goes on.
measure() {  # round runtime tool
  local r=$1 rt=$2 tool=$3 out="$base-r$1-$2-$3"
  local artifact=$onnx backend=onnxruntime short=ort
  [[ $rt == openvino ]] && { artifact=$xml; backend=openvino; short=ov; }
  echo "== round $r/$rounds $rt $tool" >&2
  case $tool in
    inferbench)
      local study="harness-$stamp-r$r-$rt"
      run "$out.json" "$inferbench" -q bench "$artifact" --tensors "$work/tensors" --backends "$backend" \
        --scenarios single-stream --threads "$threads" --warmup 10 --warmup-seconds "$warmup_s" --min-count 1 \
        --min-seconds "$seconds" --peak-seconds 0 --db "$work/results.db" --study "$study" \
        --work-dir "$work/bench" --json &&
        run "$out-export.json" "$inferbench" -q results --db "$work/results.db" export "$study" || true
      ;;
    bare)
      run "$out.json" "$bare" --runtime "$short" --model "$artifact" --size "$size" --threads "$threads" \
        --seconds "$seconds" --warmup-seconds "$warmup_s" || true
      ;;
    benchmark_app)
      mkdir -p "$out-report"
      run "$out.log" "$benchmark_app" -m "$artifact" -d CPU -load_config "$ba_config" -api sync -ip f32 \
        -shape "[1,3,$size,$size]" -t "$seconds" -report_type no_counters -report_folder "$out-report" -json_stats \
        || true
      [[ -f $out-report/benchmark_report.json ]] && mv "$out-report/benchmark_report.json" "$out-report.json"
      rm -rf "$out-report"
      ;;
  esac
}

echo "# measurements" >> "$commands"
started=$(date +%s)
for ((r = 1; r <= rounds; r++)); do
  for rt in onnxruntime openvino; do
    tools=(inferbench bare)
    [[ $rt == openvino ]] && tools+=(benchmark_app)
    if ((r % 2 == 0)); then
      reversed=()
      for ((i = ${#tools[@]} - 1; i >= 0; i--)); do reversed+=("${tools[i]}"); done
      tools=("${reversed[@]}")
    fi
    for tool in "${tools[@]}"; do measure "$r" "$rt" "$tool"; done
  done
done

"$python" - "$base" "$(( $(date +%s) - started ))" "$(cut -d' ' -f1-3 /proc/loadavg)" "$work" <<'EOF'
import json, os, re, statistics, sys
base, elapsed, load_end, work = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = json.load(open(base + "-context.json"))
rounds, limit = ctx["rounds"], 0.02

def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None

def inferbench_median(r, rt):
    exp = load(f"{base}-r{r}-{rt}-inferbench-export.json")
    if exp and exp.get("runs") and exp["runs"][0].get("status") == "ok":
        res = exp["runs"][0]["result"]
        return res["median"], res["count"], res.get("summary", {}).get("settings")
    out = load(f"{base}-r{r}-{rt}-inferbench.json")
    if out and out.get("runs") and out["runs"][0].get("median_ms") is not None:
        return out["runs"][0]["median_ms"], out["runs"][0]["count"], None
    return None, None, None

def bare_median(r, rt):
    d = load(f"{base}-r{r}-{rt}-bare.json")
    return (d["median_ms"], d["count"], d.get("version")) if d else (None, None, None)

def benchmark_app_median(r, rt):
    # The console line has the most digits (microseconds when the mean is under 1 ms); the report has 2 in ms.
    try:
        log = open(f"{base}-r{r}-{rt}-benchmark_app.log").read()
    except OSError:
        return None, None
    m = re.search(r"Median:\s+([0-9.]+) (ms|us)", log)
    c = re.search(r"Count:\s+([0-9]+) iterations", log)
    if not m:
        return None, None
    return float(m.group(1)) / (1000.0 if m.group(2) == "us" else 1.0), int(c.group(1)) if c else None

ratio = lambda a, b: a / b if a and b else None
med = lambda vs: statistics.median([v for v in vs if v is not None]) if any(v is not None for v in vs) else None
rows, versions = [], {}
for rt in ("onnxruntime", "openvino"):
    per_round = []
    for r in range(1, rounds + 1):
        ib, ib_n, settings = inferbench_median(r, rt)
        bm, bm_n, version = bare_median(r, rt)
        ba, ba_n = benchmark_app_median(r, rt) if rt == "openvino" else (None, None)
        if version: versions[rt] = version
        if settings: versions.setdefault(rt + "_settings", settings)
        per_round.append({"round": r, "inferbench_ms": ib, "inferbench_count": ib_n, "bare_ms": bm, "bare_count": bm_n,
                          "benchmark_app_ms": ba, "benchmark_app_count": ba_n,
                          "inferbench_over_bare": ratio(ib, bm), "inferbench_over_benchmark_app": ratio(ib, ba)})
    summary = {k: med([p[k] for p in per_round]) for k in ("inferbench_ms", "bare_ms", "benchmark_app_ms",
                                                             "inferbench_over_bare", "inferbench_over_benchmark_app")}
    rows.append({"runtime": rt, "rounds": per_round, "median": summary})

summary = {"schema": "inferbench.harness.summary/1", "context": ctx, "load_average_end": load_end, "seconds": elapsed,
           "versions": versions, "limit": limit, "rows": rows}
json.dump(summary, open(base + "-summary.json", "w"), indent=2)

fmt = lambda v, spec=".4f": "-" if v is None else format(v, spec)
def verdict(x):
    return "-" if x is None else ("yes" if abs(x - 1.0) <= limit else "**NO**")
lines = [f"Run `{os.path.basename(base)}`: {ctx['model']} {ctx['size']}x{ctx['size']}, batch 1, {ctx['threads']} "
         f"thread(s), {ctx['seconds']} s per measurement, {ctx['rounds']} round(s); {ctx['cpu']}, {ctx['cores']} cores, "
         f"load {ctx['load_average_start']} -> {load_end}, {elapsed} s.", "",
         "| runtime | round | inferbench median ms | bare median ms | benchmark_app median ms | inferbench/bare | "
         "inferbench/benchmark_app | within 2% |",
         "|---|---|---|---|---|---|---|---|"]
for row in rows:
    for p in row["rounds"] + [dict(row["median"], round="**median**")]:
        checks = [p["inferbench_over_bare"]] + ([p["inferbench_over_benchmark_app"]] if row["runtime"] == "openvino" else [])
        lines.append(f"| {row['runtime']} | {p['round']} | {fmt(p['inferbench_ms'])} | {fmt(p['bare_ms'])} | "
                     f"{fmt(p['benchmark_app_ms'])} | {fmt(p['inferbench_over_bare'], '.3f')} | "
                     f"{fmt(p['inferbench_over_benchmark_app'], '.3f')} | {' / '.join(verdict(c) for c in checks)} |")
lines += ["", "median row: the median over rounds of each column (of the per-round ratios for the ratio columns). "
          "benchmark_app prints its median with 2 decimals (in us when its mean is under 1 ms, else in ms)."]
table = "\n".join(lines)
print(table)

failed = sorted(f for f in os.listdir(os.path.dirname(base)) if f.startswith(os.path.basename(base)) and f.endswith(".err"))
cmds = open(base + "-commands.txt").read().replace(work + "/", "$WORK/").replace(work, "$WORK")
md = [f"# Harness overhead run {os.path.basename(base)}", "", table, "",
      "## Context", "", "```json", json.dumps({k: v for k, v in ctx.items() if k != "inferbench_backends"}, indent=2),
      "```", "", f"Runtime versions: {json.dumps({k: v for k, v in versions.items() if not k.endswith('_settings')})}", "",
      "## Commands", "", "$WORK is a temporary folder (removed at the end); raw outputs are beside this file as "
      f"`{os.path.basename(base)}-r<round>-<runtime>-<tool>.*`.", "", "```sh", cmds.rstrip(), "```"]
if failed:
    md += ["", "## Failures", ""] + [f"- `{f}`" for f in failed]
open(base + ".md", "w").write("\n".join(md) + "\n")
print(f"\nRecord: {base}.md; summary: {base}-summary.json; raw: {base}-r*")
if failed:
    print(f"{len(failed)} measurement(s) failed: see {', '.join(failed)}", file=sys.stderr)
EOF
