#!/usr/bin/env python3
"""The side-by-side table of the study's systems (benchmarks/systems.md) from one study.

Usage: systems_table.py INFERBENCH DB STUDY

Reads the study with `inferbench results --db DB export STUDY --format json`
(nothing else: the figures are the tool's own) and prints, for every model,
one Markdown row per system that ran its FP32 file in FP32: the backend and
the file (LibTorch on the checkpoint, TorchScript, ONNX Runtime, OpenVINO on
its IR, OpenCV DNN, TensorFlow on the SavedModel, OpenVINO on the SavedModel
and .tflite, ...), the median latency at batch 1 with its 95% CI, images/s at
batch 32 (the tool's own: images over the run's wall time) and the median time
of one batch of 32 with its 95% CI, the precision the runtime says it executed,
and top-1 from verify. Only runs with status ok are shown; a system with no ok
run is listed with the reason of its first failed one.
"""
import sys

from precision_table import load_study


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    data = load_study(*sys.argv[1:])
    rows = {}  # (model, backend, artifact) -> {"b1": result, "b32": result, "failed": reason}
    for run in data["runs"]:
        r = run["result"]
        if r["precision"] != "fp32" or "-fp16." in r["artifact"] or "-int8." in r["artifact"]:
            continue
        slot = rows.setdefault((r["model"], r["backend"], r["artifact"]), {})
        if run["status"] != "ok":
            slot.setdefault("failed", f"{run['status']}: {run.get('reason', '')[:80]}")
            continue
        if r["scenario"] == "single-stream":
            slot["b1"] = r
        elif r["scenario"] == "batch" and r["batch"] == 32:
            slot["b32"] = r
    print("| model | backend | file | median ms, batch 1 [95% CI] | img/s, batch 32 | ms per batch of 32 [95% CI] "
          "| ran | top-1 |")
    print("|---|---|---|---:|---:|---:|---|---:|")
    for (model, backend, artifact), slot in sorted(rows.items()):
        b1, b32 = slot.get("b1"), slot.get("b32")
        if not b1 and not b32:
            print(f"| {model} | {backend} | {artifact} | {slot.get('failed', '-')} | - | - | - | - |")
            continue
        latency = f"{b1['median']:.3f} [{b1['ci_lo']:.3f}, {b1['ci_hi']:.3f}]" if b1 else "-"
        ips = f"{b32['throughput']:.0f}" if b32 and b32.get("throughput") else "-"
        call = f"{b32['median']:.2f} [{b32['ci_lo']:.2f}, {b32['ci_hi']:.2f}]" if b32 else "-"
        summary = (b1 or b32)["summary"]
        ran = (summary.get("executed") or {}).get("precision", "?")
        verify = summary.get("verify") or {}
        top1 = f"{100 * verify['top1']:.2f}%" if "top1" in verify else "-"
        print(f"| {model} | {backend} | {artifact} | {latency} | {ips} | {call} | {ran} | {top1} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
