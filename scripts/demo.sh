#!/usr/bin/env bash
# The main job on the built-in dataset, as far as the pipeline reaches today:
# render the synthetic fruit set, scan and split it, write the preprocessed
# test split for benchmark workers, and train the three architectures.
#   scripts/demo.sh BIN OUT_DIR
# EPOCHS and SIZE (environment) change the training budget.
set -euo pipefail
bin=${1:?usage: demo.sh path/to/inferbench OUT_DIR}
out=${2:?usage: demo.sh path/to/inferbench OUT_DIR}
epochs=${EPOCHS:-10}
size=${SIZE:-64}
start=$(date +%s)

echo "== 1/5 synthesise the built-in fruit dataset" >&2
"$bin" data synth --out "$out/synth-fruit" --per-class 120 --size 256 --seed 1
echo "== 2/5 scan" >&2
"$bin" data scan "$out/synth-fruit" --out "$out/data"
echo "== 3/5 split (70/15/15 by content hash, balanced test split)" >&2
"$bin" data split --manifest "$out/data/scan-manifest.csv" --out "$out/data"
echo "== 4/5 preprocess the test split once for benchmark workers" >&2
"$bin" data export-tensors --manifest "$out/data/manifest.csv" --split test --size "$size" --out "$out/tensors/test"
echo "== 5/5 train mobilenet_v2, efficientnet_b0, resnet50 (${size}x${size}, $epochs epochs each)" >&2
mkdir -p "$out/train"
summary="$out/train-summary.txt"
printf '%-16s %8s %8s %9s %8s\n' model top-1 top-5 macro-F1 seconds > "$summary"
for model in mobilenet_v2 efficientnet_b0 resnet50; do
  resume=()
  [[ -f "$out/train/$model/last.ckpt" ]] && resume=(--resume)
  "$bin" train --manifest "$out/data/manifest.csv" --model "$model" --size "$size" --epochs "$epochs" \
    --out "$out/train/$model" "${resume[@]}" --json > "$out/train/$model.json"
  python3 - "$out/train/$model.json" "$model" >> "$summary" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["test"]
print(f"{sys.argv[2]:<16} {100 * t['top1']:7.1f}% {100 * t['top5']:7.1f}% {t['macro_f1']:9.3f} {r['seconds']:8.0f}")
PY
done
echo "== done in $(( $(date +%s) - start )) s: outputs in $out" >&2
cat "$summary"
