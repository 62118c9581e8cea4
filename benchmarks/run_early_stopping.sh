#!/usr/bin/env bash
# Early stopping (bench --ci-target) against the full stopping rule, on the
# main job's timing, with an A/A pair of each so the difference can be read
# against this machine's own run-to-run spread (benchmarks/early-stopping.md).
#
#   benchmarks/run_early_stopping.sh [BUILD_DIR] [WORK_DIR]
#
# 1. `inferbench run` on a tiny config (MobileNetV2 and ResNet50 at 32x32, one
#    epoch: real exports of every format, INT8 included) for the artifacts;
# 2. four studies of the same plan, one after another: off, on, off2, on2
#    (off: the main job's timing without early stopping; on: with ci_target
#    0.02, ci_min_count 64);
# 3. the wall time of each study, the runs stopped early / short, and the
#    spread of the matched medians (compare --json) for off-off2, on-on2,
#    off-on and off2-on2.
# The benchmark wants a quiet machine; steps 1 and 3 do not.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
work=${2:-/tmp/inferbench-early-stopping}
B=$build/src/cli/inferbench
[[ -x $B ]] || { echo "no inferbench at $B (make build)" >&2; exit 2; }
mkdir -p "$work"

cat > "$work/tiny.json" <<'EOF'
{"synth": {"per-class": 30, "size": 48},
 "models": [{"model": "mobilenet_v2", "size": 32, "train": {"epochs": 1, "threads": 1, "augment": "light"}},
            {"model": "resnet50", "size": 32, "train": {"epochs": 1, "threads": 1, "augment": "light"}}],
 "bench": {"scenarios": ["single-stream"], "threads": [1],
   "timing": {"warmup_count": 2, "warmup_seconds": 0, "min_count": 30, "min_seconds": 0, "max_seconds": 1}}}
EOF
"$B" --quiet run --config "$work/tiny.json" --out "$work/run" > "$work/run.txt" || [[ $? -eq 6 ]]

# The run's own plan (its artifacts, tensors and verify reports), with the
# main job's scenarios and timing.
python3 - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
p = json.load(open(f"{work}/run/bench/plan-32-imagenet.json"))
p["scenarios"] = ["single-stream", "batch"]
p["batches"] = [8, 32]
p.pop("threads", None)
base = {"warmup_count": 5, "warmup_seconds": 0.3, "min_count": 662, "min_seconds": 1.0, "max_seconds": 5.0}
for name, extra in (("off", {"ci_target": 0}), ("on", {"ci_target": 0.02, "ci_min_count": 64})):
    json.dump(dict(p, timing=dict(base, **extra)), open(f"{work}/{name}.json", "w"), indent=1)
EOF

rm -f "$work/ab.db" "$work/times.txt"
for s in off:off on:on off2:off on2:on; do
  name=${s%%:*} plan=${s##*:}
  t0=$(date +%s.%N)
  rc=0
  "$B" --quiet bench --plan "$work/$plan.json" --db "$work/ab.db" --study "$name" --work-dir "$work/work-$name" \
    > "$work/$name.txt" || rc=$?
  echo "$name exit $rc, $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" | tee -a "$work/times.txt"
done

sqlite3 "$work/ab.db" "select s.name, count(*), sum(json_extract(r.summary, '\$.stopped_early')),
  sum(json_extract(r.summary, '\$.stopped_short')), cast(avg(r.count) as int),
  round(sum(json_extract(r.summary, '\$.wall_seconds')), 1)
  from results r join runs u on u.id = r.run_id join studies s on s.id = u.study_id
  where u.status = 'ok' group by s.name" |
  awk -F'|' 'BEGIN { print "study  ok runs  stopped early  stopped short  mean count  timed s" }
             { printf "%-6s %7s %14s %14s %11s %8s\n", $1, $2, $3, $4, $5, $6 }'

for pair in "off off2" "on on2" "off on" "off2 on2"; do
  "$B" compare --db "$work/ab.db" $pair --json > "$work/cmp-${pair// /-}.json" || true
done
python3 - "$work" <<'EOF'
import json, math, statistics, sys
work = sys.argv[1]
print("pair       matched  geomean B/A  median |B/A - 1|  p90     max")
for pair in ("off-off2", "on-on2", "off-on", "off2-on2"):
    m = json.load(open(f"{work}/cmp-{pair}.json"))["matches"]
    r = [x["ratio_b_over_a"] for x in m if x.get("ratio_b_over_a")]
    logs = sorted(abs(math.log(v)) for v in r)
    pct = lambda v: f"{100 * (math.exp(v) - 1):.1f}%"
    gm = math.exp(statistics.mean(math.log(v) for v in r))
    print(f"{pair:10s} {len(r):7d}  {gm:11.3f}  {pct(statistics.median(logs)):>16s}  "
          f"{pct(logs[int(0.9 * len(logs))]):>6s}  {pct(logs[-1]):>6s}")
EOF
