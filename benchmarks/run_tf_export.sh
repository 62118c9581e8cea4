#!/usr/bin/env bash
# The TensorFlow-format exports of one model: four `export` calls (one converter
# run each, the cost before 7706e21) against one call writing all four (one run).
# Three 64x64 checkpoints trained 1 epoch on a 300-image synthetic set (the
# conversion does not depend on the weights), two rounds each; the FP32 and INT8
# .tflite of both ways are compared byte for byte.
#   benchmarks/run_tf_export.sh [BUILD_DIR] [WORK_DIR]
set -e
B=$(realpath "${1:-build}")/src/cli/inferbench
W=${2:-$(mktemp -d)}
cd "$W"
$B -q data synth --out synth --per-class 30 --size 64
$B -q data split --data synth --out split
$B -q data export-tensors --manifest split/manifest.csv --split train --size 64 --out cal >/dev/null
for m in mobilenet_v2 efficientnet_b0 resnet50; do
  $B -q train --manifest split/manifest.csv --model $m --size 64 --epochs 1 --out ck/$m >/dev/null
done
for m in mobilenet_v2 efficientnet_b0 resnet50; do
  for round in 1 2; do
    s=$(date +%s.%N)
    for f in savedmodel tflite tflite-fp16 tflite-int8; do
      $B -q export ck/$m/model.ckpt --out sep-$m-$round --format $f --calibration cal >/dev/null
    done
    e=$(date +%s.%N)
    $B -q export ck/$m/model.ckpt --out one-$m-$round --format savedmodel,tflite,tflite-fp16,tflite-int8 --calibration cal >/dev/null
    e2=$(date +%s.%N)
    echo "$m round $round: four runs $(echo "$e - $s" | bc) s, one run $(echo "$e2 - $e" | bc) s"
    cmp sep-$m-$round/$m-int8.tflite one-$m-$round/$m-int8.tflite && echo "  int8 file identical"
    cmp sep-$m-$round/$m.tflite one-$m-$round/$m.tflite && echo "  fp32 file identical"
  done
done
