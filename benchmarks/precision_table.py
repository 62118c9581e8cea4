#!/usr/bin/env python3
"""The compute-precision table of benchmarks/precision.md from one study.

Usage: precision_table.py INFERBENCH DB STUDY

Reads the study with `inferbench results --db DB export STUDY --format json`
(nothing else: the figures are the tool's own) and prints, for every model
and every (file, backend) that ran in more than one precision, one Markdown
row per precision: median latency at batch 1 with its 95% CI, images/s at
batch 32, top-1 and its drop from verify, and the precision the runtime says
it executed. Only runs with status ok are shown.
"""
import json
import subprocess
import sys


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    exe, db, study = sys.argv[1:]
    data = json.loads(subprocess.check_output([exe, "results", "--db", db, "export", study, "--format", "json"]))
    rows = {}  # (model, artifact, backend) -> precision -> {"b1": result, "b32": result}
    for run in data["runs"]:
        if run["status"] != "ok":
            continue
        r = run["result"]
        key = (r["model"], r["artifact"], r["backend"])
        slot = rows.setdefault(key, {}).setdefault(r["precision"], {})
        if r["scenario"] == "single-stream":
            slot["b1"] = r
        elif r["scenario"] == "batch" and r["batch"] == 32:
            slot["b32"] = r
    print("| model | file | backend | asked | ran | median ms, batch 1 [95% CI] | img/s, batch 32 "
          "| top-1 | drop (points) | agreement |")
    print("|---|---|---|---|---|---:|---:|---:|---:|---:|")
    for (model, artifact, backend), by_precision in sorted(rows.items()):
        if len(by_precision) < 2:
            continue
        for precision in ("fp32", "fp16", "bf16", "int8"):
            slot = by_precision.get(precision)
            if not slot:
                continue
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
