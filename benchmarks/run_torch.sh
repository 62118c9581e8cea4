#!/usr/bin/env bash
# LibTorch C++ (BUILD_DIR/benchmarks/torch_bench) against PyTorch in Python
# (benchmarks/torch_pytorch.py, Debian's /usr/bin/python3 with torchvision's
# models): training throughput and eager inference latency, one process per
# measurement, C++ and Python interleaved (C++, Python, C++, Python, ...) so
# machine drift favours neither. See benchmarks/torch.md.
#
# Usage: benchmarks/run_torch.sh BUILD_DIR [REPEATS] [DURATION_S]
#   REPEATS     C++/Python pairs per configuration (default 3); medians reported
#   DURATION_S  minimum timed seconds per measurement (default 10)
# Environment (defaults in brackets):
#   MODELS ["mobilenet_v2 efficientnet_b0 resnet50"]  CLASSES [10]
#   THREADS ["2"] (a list, e.g. "1 2": every configuration at each count)  PHASES ["train infer"]
#   TRAIN_SIZE [64]  TRAIN_BATCH [32]  TRAIN_MIN_ITERS [20]
#   INFER_SIZE [224]  INFER_BATCHES ["1 32"]  INFER_MIN_ITERS [64]
#   WARMUP_S [1]  WARMUP_ITERS [10]  MAX_S [60] (a measurement stops there even short of its minimum count)
#   RESULTS_DIR [benchmarks/results]
# Writes benchmarks/results/torch-<UTC>-{context,summary}.json and one raw
# torch-<UTC>-r<repeat>-<model>-<phase>-s<size>-b<batch>[-t<threads>]-<cpp|python>.json
# per measurement (-t only when THREADS lists more than one count), then prints
# a Markdown table with a bootstrap 95% confidence interval of each ratio.
# Needs: the torch_bench target built (Release); apt-get install python3-torch python3-torchvision
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [REPEATS] [DURATION_S]" >&2
  exit 2
fi
build=$1
repeats=${2:-3}
duration=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3  # Debian's, where python3-torch lives; not a pyenv python3 earlier on PATH
bench="$build/benchmarks/torch_bench"
[[ -x $bench ]] || { echo "no $bench: build the torch_bench target first" >&2; exit 2; }
if ! "$python" -c 'import torch, torchvision' 2>/dev/null; then
  echo "$python lacks torch/torchvision: apt-get install python3-torch python3-torchvision" >&2
  exit 2
fi

models=${MODELS:-"mobilenet_v2 efficientnet_b0 resnet50"}
classes=${CLASSES:-10}
thread_counts=${THREADS:-2}
phases=${PHASES:-"train infer"}
for p in $phases; do
  [[ $p == train || $p == infer ]] || { echo "PHASES: '$p' is not train or infer" >&2; exit 2; }
done
train_size=${TRAIN_SIZE:-64}
train_batch=${TRAIN_BATCH:-32}
train_min_iters=${TRAIN_MIN_ITERS:-20}
infer_size=${INFER_SIZE:-224}
infer_batches=${INFER_BATCHES:-"1 32"}
infer_min_iters=${INFER_MIN_ITERS:-64}
warmup_s=${WARMUP_S:-1}
warmup_iters=${WARMUP_ITERS:-10}
max_s=${MAX_S:-60}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=${RESULTS_DIR:-"$here/results"}
mkdir -p "$results"
base="$results/torch-$stamp"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
cores=$(nproc)
# OpenMP threads that must meet at every parallel region stall whenever another
# process holds a core: on a busy machine the figures measure the neighbours.
if awk -v l="${load_start%% *}" -v c="$cores" 'BEGIN { exit !(l > 0.25 * c) }'; then
  echo "warning: load average $load_start on $cores cores; the figures will not be trustworthy" >&2
fi

inferbench_version=""
[[ -x $build/src/cli/inferbench ]] && inferbench_version=$("$build/src/cli/inferbench" --version 2>&1 || true)
"$python" - "$base-context.json" "$0 $*" "$load_start" "$inferbench_version" "$bench" <<'EOF'
import json, os, platform, subprocess, sys
import torch, torchvision
out, command, load, inferbench_version, bench = sys.argv[1:]
cpuinfo = open("/proc/cpuinfo").read().splitlines()
field = lambda name: next((l.split(":", 1)[1].strip() for l in cpuinfo if l.startswith(name)), "?")
mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
def torch_libs(path):
    # Both sides should run the same libtorch_cpu: then only the front end differs.
    try:
        lines = subprocess.run(["ldd", path], capture_output=True, text=True).stdout.splitlines()
    except OSError:
        return []
    return sorted({l.split("=>")[1].split("(")[0].strip() for l in lines if "libtorch_cpu" in l and "=>" in l})
ctx = {"command": command, "cpu": field("model name"), "cpu_mhz": field("cpu MHz"), "cache": field("cache size"),
       "flags": field("flags"), "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
       "kernel": platform.release(), "os": platform.platform(), "load_average_start": load,
       "python": platform.python_version(), "python_executable": sys.executable,
       "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                    "inferbench": inferbench_version.strip() or None},
       "torch_parallel_info": torch.__config__.parallel_info(),
       "libtorch_cpu": {"cpp": torch_libs(bench), "python": torch_libs(torch._C.__file__)},
       "env": {k: os.environ[k] for k in ("MODELS", "CLASSES", "THREADS", "TRAIN_SIZE", "TRAIN_BATCH",
                                           "TRAIN_MIN_ITERS", "INFER_SIZE", "INFER_BATCHES", "INFER_MIN_ITERS",
                                           "WARMUP_S", "WARMUP_ITERS", "MAX_S", "PHASES", "OMP_NUM_THREADS")
                if k in os.environ}}
json.dump(ctx, open(out, "w"), indent=2)
EOF
echo "== context: $base-context.json (load average $load_start)" >&2

# Both sides start from the same weights (torchvision's initialisation, saved
# once per model), so with the same inputs and seeds they take the same steps:
# the summary checks that their losses agree.
states=$(mktemp -d)
trap 'rm -rf "$states"' EXIT
for model in $models; do
  "$python" -c 'import sys, torch, torchvision
m, classes, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(2)  # the scripts default seed + 1
if hasattr(torchvision.models, m):
    torch.save(getattr(torchvision.models, m)(num_classes=classes).state_dict(), path)' \
    "$model" "$classes" "$states/$model.pt"
done

# One measurement; a failure is recorded in place of its result and the sweep goes on.
measure() {  # side repeat model phase size batch min_iters threads
  local side=$1 r=$2 model=$3 phase=$4 size=$5 batch=$6 min_iters=$7 threads=$8
  local tag=""
  [[ $(wc -w <<< "$thread_counts") -gt 1 ]] && tag="-t$threads"
  local out="$base-r$r-$model-$phase-s$size-b$batch$tag-$side.json" err failed=0
  local init=()
  [[ -f $states/$model.pt ]] && init=(--init-from "$states/$model.pt")
  local args=(--model "$model" --phase "$phase" --classes "$classes" --size "$size" --batch "$batch" "${init[@]}"
              --threads "$threads" --warmup-s "$warmup_s" --warmup-iters "$warmup_iters" --min-s "$duration"
              --min-iters "$min_iters" --max-s "$max_s")
  echo "== repeat $r/$repeats $side $model $phase size $size batch $batch threads $threads" >&2
  err=$(mktemp)
  if [[ $side == cpp ]]; then
    "$bench" "${args[@]}" > "$out" 2> "$err" || failed=1
  else
    "$python" "$here/torch_pytorch.py" "${args[@]}" > "$out" 2> "$err" || failed=1
  fi
  if ((failed)); then
    echo "   failed: $(tail -n 3 "$err")" >&2
    "$python" -c 'import json, sys; json.dump({"error": open(sys.argv[1]).read()[-4000:], "side": sys.argv[2],
      "model": sys.argv[3], "phase": sys.argv[4], "config": {"image_size": int(sys.argv[5]),
      "batch_size": int(sys.argv[6]), "threads_requested": int(sys.argv[8])}}, open(sys.argv[7], "w"), indent=2)' \
      "$err" "$side" "$model" "$phase" "$size" "$batch" "$out" "$threads"
  fi
  rm -f "$err"
}

started=$(date +%s)
for ((r = 1; r <= repeats; r++)); do
  for model in $models; do
    configs=()
    for t in $thread_counts; do
      [[ " $phases " == *" train "* ]] && configs+=("train $train_size $train_batch $train_min_iters $t")
      if [[ " $phases " == *" infer "* ]]; then
        for b in $infer_batches; do configs+=("infer $infer_size $b $infer_min_iters $t"); done
      fi
    done
    for c in "${configs[@]}"; do
      read -r phase size batch min_iters t <<< "$c"
      measure cpp "$r" "$model" "$phase" "$size" "$batch" "$min_iters" "$t"
      measure python "$r" "$model" "$phase" "$size" "$batch" "$min_iters" "$t"
    done
  done
done

"$python" - "$base" "$(( $(date +%s) - started ))" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import glob, json, random, statistics, sys
base, seconds, load_end = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = json.load(open(base + "-context.json"))
runs = [json.load(open(f)) for f in sorted(glob.glob(base + "-r*-*.json"))]
groups = {}
for d in runs:
    key = (d["model"], d["phase"], d["config"]["image_size"], d["config"]["batch_size"],
           d["config"].get("threads_requested"))
    groups.setdefault(key, {"cpp": [], "python": []})[d["side"]].append(d)

def median_of(ds, field):
    vals = [d["stats"][field] for d in ds if "stats" in d]
    return statistics.median(vals) if vals else None

def ratio(a, b):
    return a / b if a and b else None

# Each process lands in a faster or slower mode for its whole life on this VM
# (at 2 threads, +-15% between processes, steady within one), so a ratio of
# medians over a few repeats can be luck. Its uncertainty: percentile
# bootstrap over the repeats, each side resampled on its own.
def bootstrap_ratio_ci(cpp, py, reps=10000, seed=1):
    if len(cpp) < 2 or len(py) < 2:
        return None
    rng = random.Random(seed)
    rs = sorted(statistics.median(rng.choices(cpp, k=len(cpp))) / statistics.median(rng.choices(py, k=len(py)))
                for _ in range(reps))
    return [rs[int(0.025 * reps)], rs[int(0.975 * reps) - 1]]

rows = []
for (model, phase, size, batch, threads), sides in sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0]))):
    row = {"model": model, "phase": phase, "image_size": size, "batch_size": batch, "threads": threads}
    ok = {s: [d for d in ds if "stats" in d] for s, ds in sides.items()}
    for s in ("cpp", "python"):
        row[s] = {f: median_of(ok[s], f) for f in ("images_per_second", "images_per_cpu_second", "median_ms",
                                                    "p90_ms", "p99_ms", "mean_ms", "min_ms", "max_ms", "cv")}
        row[s]["runs"] = len(ok[s])
        row[s]["failed"] = len(sides[s]) - len(ok[s])
        row[s]["images_per_second_runs"] = [d["stats"]["images_per_second"] for d in ok[s]]
        row[s]["threads_used"] = sorted({d["threads_used"] for d in ok[s]})
        row[s]["unstable_runs"] = sum(d["stats"]["unstable"] for d in ok[s])
        row[s]["stopped_short_runs"] = sum(d["stats"]["stopped_short"] for d in ok[s])
        row[s]["parameters"] = sorted({d["check"]["parameters"] for d in ok[s]})
        row[s]["output_shape"] = ok[s][0]["check"]["output_shape"] if ok[s] else None
    both = bool(ok["cpp"] and ok["python"])
    row["same_parameters"] = both and row["cpp"]["parameters"] == row["python"]["parameters"]
    # Same weights, inputs and seeds: each repeat's pair must agree on every loss (float rounding aside).
    close = lambda a, b: a is not None and b is not None and abs(a - b) <= 1e-4 * max(1.0, abs(a))
    pairs = [(cd["check"], pd["check"]) for cd in ok["cpp"] for pd in ok["python"]
             if cd["config"]["init_from"] and cd["config"]["init_from"] == pd["config"]["init_from"]]
    # The last step's loss is not compared: the two sides run different numbers of steps.
    keys = ("eval_loss", "first_step_loss") if phase == "train" else ("eval_loss",)
    row["same_losses"] = bool(pairs) and all(close(c.get(k), p.get(k)) for c, p in pairs for k in keys)
    row["nonfinite_step_losses"] = sum(d["check"].get("nonfinite_step_losses", 0) for s in ok for d in ok[s])
    row["same_output_shape"] = both and row["cpp"]["output_shape"] == row["python"]["output_shape"]
    # > 1: C++ is faster (throughput ratio; for latency it is Python's median over C++'s).
    row["cpp_over_python_images_per_second"] = ratio(row["cpp"]["images_per_second"],
                                                     row["python"]["images_per_second"])
    row["cpp_over_python_images_per_second_ci95"] = bootstrap_ratio_ci(row["cpp"]["images_per_second_runs"],
                                                                      row["python"]["images_per_second_runs"])
    row["cpp_over_python_images_per_cpu_second"] = ratio(row["cpp"]["images_per_cpu_second"],
                                                         row["python"]["images_per_cpu_second"])
    row["python_over_cpp_median_latency"] = ratio(row["python"]["median_ms"], row["cpp"]["median_ms"])
    rows.append(row)

cpp_versions = next((d["versions"] for d in runs if d.get("side") == "cpp" and "versions" in d), None)
if cpp_versions and cpp_versions["build_type"] != "Release":
    print(f"warning: torch_bench is a {cpp_versions['build_type']} build; its figures are not representative",
          file=sys.stderr)
summary = {"schema": "inferbench.torch_bench.summary/1", "context": context, "cpp_build": cpp_versions,
           "load_average_end": load_end, "seconds": seconds, "rows": rows}
json.dump(summary, open(base + "-summary.json", "w"), indent=2)

fmt = lambda v, spec=".1f", unit="": "-" if v is None else format(v, spec) + unit
print(f"Run `{base.rsplit('/', 1)[-1]}`: {context['cpu']}, {context['cores']} cores, threads "
      f"{sorted({t for r in rows for s in ('cpp', 'python') for t in r[s]['threads_used']})}, "
      f"load {context['load_average_start']} -> {load_end}, {seconds} s\n")
print("| model | phase | size | batch | threads | C++ img/s | Python img/s | **C++/Python** | 95% CI | C++ img/CPU-s | "
      "Python img/CPU-s | ratio/CPU-s | C++ median ms | C++ p99 ms | Python median ms | Python p99 ms | "
      "same work | notes |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    c, p = r["cpp"], r["python"]
    notes = []
    for s, name in ((c, "C++"), (p, "Python")):
        if s["failed"]: notes.append(f"{name} {s['failed']} failed")
        if s["unstable_runs"]: notes.append(f"{name} CV>10% in {s['unstable_runs']}/{s['runs']}")
        if s["stopped_short_runs"]: notes.append(f"{name} short in {s['stopped_short_runs']}/{s['runs']}")
    both = c["runs"] and p["runs"]
    same = "-" if not both else "yes" if r["same_parameters"] and r["same_losses"] else "NO"
    if both and not r["same_parameters"]: notes.append("parameter counts differ")
    if both and r["same_parameters"] and not r["same_losses"]: notes.append("losses differ")
    if r["nonfinite_step_losses"]: notes.append(f"{r['nonfinite_step_losses']} non-finite step losses")
    if both and not r["same_output_shape"]: notes.append("output shapes differ")
    ci = r["cpp_over_python_images_per_second_ci95"]
    ci_text = "-" if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"
    print(f"| {r['model']} | {r['phase']} | {r['image_size']} | {r['batch_size']} | {r['threads']} | "
          f"{fmt(c['images_per_second'])} | "
          f"{fmt(p['images_per_second'])} | **{fmt(r['cpp_over_python_images_per_second'], '.2f', 'x')}** | {ci_text} | "
          f"{fmt(c['images_per_cpu_second'])} | {fmt(p['images_per_cpu_second'])} | "
          f"{fmt(r['cpp_over_python_images_per_cpu_second'], '.2f', 'x')} | {fmt(c['median_ms'], '.2f')} | "
          f"{fmt(c['p99_ms'], '.2f')} | {fmt(p['median_ms'], '.2f')} | {fmt(p['p99_ms'], '.2f')} | "
          f"{same} | {'; '.join(notes)} |")
print("\nMedians over repeats; 95% CI: bootstrap of the ratio of medians over the repeats. same work: equal parameter counts and output shapes, and equal losses from the "
      "same initial weights and inputs (eval, and the first SGD step).")
print(f"Raw: {base}-*.json, summary: {base}-summary.json")
EOF
