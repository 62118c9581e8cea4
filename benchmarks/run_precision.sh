#!/usr/bin/env bash
# INT8 against FP32 in ONNX Runtime and OpenVINO for the three architectures
# at 224x224, with the tool's own commands (benchmarks/precision.md).
#
#   benchmarks/run_precision.sh [BUILD_DIR] [WORK_DIR]
#
# Speed only: the checkpoints are trained for one epoch on a small synthetic
# set (at 32x32, saved at 224: train --train-size), enough to give real
# weights to quantize, not a classifier worth its top-1. Latency and
# throughput of a CNN do not depend on what its weights learned; the top-1
# drop needs the main job's trained checkpoints.
#
# Environment [default]: PER_CLASS [30] images per class of the synthetic set,
# CALIBRATION [100] calibration images, MIN_SECONDS [3] and MAX_SECONDS [15] per
# run, MIN_COUNT [100] (p99 needs 662: the tables say which runs have fewer), THREADS [2],
# PREPARE_ONLY [0]: 1 stops before the benchmark (data, training, exports and
# verify need no quiet machine; the benchmark does).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
work=${2:-/tmp/inferbench-precision}
B=$build/src/cli/inferbench
per_class=${PER_CLASS:-30}
calibration=${CALIBRATION:-100}
min_seconds=${MIN_SECONDS:-3}
max_seconds=${MAX_SECONDS:-15}
min_count=${MIN_COUNT:-100}
threads=${THREADS:-2}
[[ -x $B ]] || { echo "no inferbench at $B (make build)" >&2; exit 2; }
mkdir -p "$work"
log() { echo "[precision $(date +%H:%M:%S)] $*" >&2; }

if [[ ! -f $work/data/manifest.csv ]]; then
  log "synthetic set: $per_class images per class"
  $B --quiet data synth --out "$work/synth" --per-class "$per_class" --size 256
  $B --quiet data scan "$work/synth" --out "$work/data"
  $B --quiet data split --manifest "$work/data/scan-manifest.csv" --out "$work/data"
fi
[[ -f $work/tensors/test/meta.json ]] ||
  $B --quiet data export-tensors --manifest "$work/data/manifest.csv" --split test --size 224 --out "$work/tensors/test"
[[ -f $work/tensors/train/meta.json ]] ||
  $B --quiet data export-tensors --manifest "$work/data/manifest.csv" --split train --size 224 --out "$work/tensors/train"

artifacts=()
reports=()
for m in mobilenet_v2 efficientnet_b0 resnet50; do
  if [[ ! -f $work/train/$m/model.ckpt ]]; then
    log "train $m: 1 epoch at 32x32, saved at 224"
    $B --quiet train --manifest "$work/data/manifest.csv" --model "$m" --size 224 --train-size 32 --epochs 1 \
      --augment none --out "$work/train/$m" --force >/dev/null
  fi
  if [[ ! -f $work/export/$m/$m-int8.onnx ]]; then
    log "export $m: onnx, onnx-int8 ($calibration calibration images), openvino"
    $B --quiet export "$work/train/$m/model.ckpt" --out "$work/export/$m" --format onnx,onnx-int8,openvino \
      --calibration "$work/tensors/train" --calibration-count "$calibration"
  fi
  log "verify $m (executed precision, agreement with the FP32 reference)"
  $B --quiet verify --checkpoint "$work/train/$m/model.ckpt" --tensors "$work/tensors/test" \
    "$work/export/$m/$m.onnx" "$work/export/$m/$m-int8.onnx" "$work/export/$m/$m.xml" \
    --backends onnxruntime,openvino --out "$work/verify/$m" >"$work/verify-$m.txt" || true
  artifacts+=("$work/export/$m/$m.onnx" "$work/export/$m/$m-int8.onnx" "$work/export/$m/$m.xml")
  reports+=(--verify "$work/verify/$m/verify.json")
done

if [[ ${PREPARE_ONLY:-0} == 1 ]]; then log "prepared in $work (PREPARE_ONLY=1: no benchmark)"; exit 0; fi
study=precision-$(date -u +%Y%m%dT%H%M%SZ)
log "bench: study $study"
$B bench "${artifacts[@]}" "${reports[@]}" --tensors "$work/tensors/test" --backends onnxruntime,openvino \
  --scenarios single-stream,batch --batch 32 --threads "$threads" --min-seconds "$min_seconds" \
  --max-seconds "$max_seconds" --min-count "$min_count" \
  --db "$work/results.db" --study "$study" --work-dir "$work/bench-work" || true
$B results --db "$work/results.db" export "$study" --format csv >"$work/$study.csv"
log "done: $work/$study.csv, database $work/results.db"
