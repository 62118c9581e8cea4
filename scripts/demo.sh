#!/usr/bin/env bash
# The main job on the built-in dataset, as far as the pipeline reaches today:
# render the synthetic fruit set, scan it, split it, and write the
# preprocessed test split for benchmark workers.
#   scripts/demo.sh BIN OUT_DIR
set -euo pipefail
bin=${1:?usage: demo.sh path/to/inferbench OUT_DIR}
out=${2:?usage: demo.sh path/to/inferbench OUT_DIR}

echo "== 1/4 synthesise the built-in fruit dataset" >&2
"$bin" data synth --out "$out/synth-fruit" --per-class 120 --size 256 --seed 1
echo "== 2/4 scan" >&2
"$bin" data scan "$out/synth-fruit" --out "$out/data"
echo "== 3/4 split (70/15/15 by content hash, balanced test split)" >&2
"$bin" data split --manifest "$out/data/scan-manifest.csv" --out "$out/data"
echo "== 4/4 preprocess the test split once for benchmark workers" >&2
"$bin" data export-tensors --manifest "$out/data/manifest.csv" --split test --size 224 --out "$out/tensors/test"
echo "done: outputs in $out" >&2
