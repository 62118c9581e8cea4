#!/usr/bin/env bash
# Runs the preprocessing benchmark on both sides, on the same JPEG files:
#   C++   BUILD_DIR/benchmarks/preprocess_bench (Google Benchmark)
#   Python benchmarks/preprocess_pil.py (PIL + torchvision, Debian's /usr/bin/python3)
# and writes the raw outputs plus a summary with the per-core ratio to
# benchmarks/results/preprocess-<timestamp>-{cpp,python,summary}.json.
#
# Usage: benchmarks/run_preprocess.sh BUILD_DIR [REPEATS]
# Needs: a Release build of preprocess_bench; apt-get install python3-pil python3-torchvision python3-numpy
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [REPEATS]" >&2
  exit 2
fi
build=$1
repeats=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
bench="$build/benchmarks/preprocess_bench"
[[ -x $bench ]] || { echo "no $bench: build the preprocess_bench target first" >&2; exit 2; }
if ! "$python" -c 'import PIL, torchvision, numpy' 2>/dev/null; then
  echo "$python lacks PIL/torchvision/numpy: apt-get install python3-pil python3-torchvision python3-numpy" >&2
  exit 2
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
results="$here/results"
mkdir -p "$results"
jpegs=$(mktemp -d)
trap 'rm -rf "$jpegs"' EXIT

echo "== C++ (preprocess_bench, $repeats repetitions)" >&2
"$bench" --write_jpegs="$jpegs" \
  --benchmark_filter='BM_DecodeResizeNormalize|Only' \
  --benchmark_repetitions="$repeats" --benchmark_report_aggregates_only=true \
  --benchmark_out="$results/preprocess-$stamp-cpp.json" --benchmark_out_format=json >&2

echo "== Python (PIL + torchvision, $repeats repeats)" >&2
"$python" "$here/preprocess_pil.py" --jpeg-dir "$jpegs" --repeats "$repeats" > "$results/preprocess-$stamp-python.json"

"$python" - "$results/preprocess-$stamp" "$0 $*" <<'EOF'
import json, os, platform, re, sys
base, command = sys.argv[1], sys.argv[2]
cpp = json.load(open(base + "-cpp.json"))
py = json.load(open(base + "-python.json"))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
cpp_ips = {}
for b in cpp["benchmarks"]:
    m = re.match(r"BM_DecodeResizeNormalize/(\d)/", b["run_name"])
    if m and b.get("aggregate_name") == "median":
        mode = "direct" if m.group(1) == "1" else "resize256+crop224"
        cpp_ips[(mode, b["threads"])] = (b["items_per_second"], b["images_per_cpu_second"])
rows = []
for r in py["results"]:
    key = (r["mode"], r["processes"])
    if key in cpp_ips:
        (c, c_cpu), p, p_cpu = cpp_ips[key], r["images_per_second_median"], r["images_per_cpu_second_median"]
        rows.append({"mode": key[0], "workers": key[1], "cpp_images_per_second": c,
                     "python_images_per_second": p, "ratio": c / p,
                     "cpp_images_per_cpu_second": c_cpu, "python_images_per_cpu_second": p_cpu,
                     "ratio_per_cpu_second": c_cpu / p_cpu})
summary = {"command": command, "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
           "cpp_context": cpp["context"], "python_versions": py["versions"], "python": py["python"],
           "mean_jpeg_bytes": py["mean_file_bytes"], "parity_with_cpp": py["parity_with_cpp"], "rows": rows}
json.dump(summary, open(base + "-summary.json", "w"), indent=2)
print(f"{'mode':>18} {'workers':>7} {'C++ img/s':>10} {'Python img/s':>12} {'ratio':>6}"
      f" | {'C++ img/CPU-s':>13} {'Py img/CPU-s':>12} {'ratio':>6}")
for r in rows:
    print(f"{r['mode']:>18} {r['workers']:>7} {r['cpp_images_per_second']:10.1f} "
          f"{r['python_images_per_second']:12.1f} {r['ratio']:6.2f} | {r['cpp_images_per_cpu_second']:13.1f} "
          f"{r['python_images_per_cpu_second']:12.1f} {r['ratio_per_cpu_second']:6.2f}")
print(f"raw: {base}-{{cpp,python,summary}}.json")
EOF
