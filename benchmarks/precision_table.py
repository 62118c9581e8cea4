#!/usr/bin/env python3
"""The compute-precision table of benchmarks/precision.md from one study.

Usage: precision_table.py INFERBENCH DB STUDY

Reads the study with `inferbench results --db DB export STUDY --format json`
(nothing else: the figures are the tool's own) and prints, for every model
and every backend and file family (m.onnx, m-fp16.onnx, m-int8.onnx; m.xml,
m-fp16.xml) that ran in more than one precision, one Markdown row per
precision and file: median latency at batch 1 with its 95% CI, images/s at
batch 32, top-1 and its drop from verify, and the precision the runtime says
it executed. Only runs with status ok are shown.
"""
import json
import subprocess
import sys


def load_study(exe: str, db: str, study: str) -> dict:
    """The study as the tool exports it (`results export --format json`): its figures, not ours."""
    return json.loads(subprocess.check_output([exe, "results", "--db", db, "export", study, "--format", "json"]))


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    data = load_study(*sys.argv[1:])
    rows = {}  # (model, artifact, backend) -> precision -> {"b1": result, "b32": result}
    for run in data["runs"]:
        if run["status"] != "ok":
            continue
        r = run["result"]
        # One group per model, backend and file family: m.onnx with m-fp16.onnx and m-int8.onnx.
        family = r["artifact"].replace("-fp16.", ".").replace("-int8.", ".")
        key = (r["model"], family, r["backend"])
        slot = rows.setdefault(key, {}).setdefault((r["precision"], r["artifact"]), {})
        if r["scenario"] == "single-stream":
            slot["b1"] = r
        elif r["scenario"] == "batch" and r["batch"] == 32:
            slot["b32"] = r
    print("| model | file | backend | asked | ran | median ms, batch 1 [95% CI] | img/s, batch 32 "
          "| top-1 | drop (points) | agreement |")
    print("|---|---|---|---|---|---:|---:|---:|---:|---:|")
    order = {"fp32": 0, "fp16": 1, "bf16": 2, "int8": 3}
    for (model, _, backend), by_precision in sorted(rows.items()):
        if len(by_precision) < 2:
            continue
        for (precision, artifact), slot in sorted(by_precision.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
            any_run = slot.get("b1") or slot.get("b32")
            summary = any_run["summary"]
            ran = (summary.get("executed") or {}).get("precision", "?")
            verify = summary.get("verify") or {}
            b1 = slot.get("b1")
            latency = (f"{b1['median']:.3f} [{b1['ci_lo']:.3f}, {b1['ci_hi']:.3f}]" if b1 else "-")
            b32 = slot.get("b32")
            ips = f"{b32['throughput']:.0f}" if b32 and b32.get("throughput") else "-"
            top1 = f"{100 * verify['top1']:.2f}%" if "top1" in verify else "-"
            drop = f"{100 * verify['top1_drop']:.2f}" if "top1_drop" in verify else "-"
            if "accuracy_flag" in verify:
                drop = f"**{drop} (DROP)**"
            agree = f"{100 * verify['agreement']:.2f}%" if "agreement" in verify else "-"
            print(f"| {model} | {artifact} | {backend} | {precision} | {ran} | {latency} | {ips} | {top1} | "
                  f"{drop} | {agree} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
