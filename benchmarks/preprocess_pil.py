#!/usr/bin/python3
"""The Python reference for benchmarks/preprocess_bench.cpp.

Same work on the same JPEG files: decode (PIL) + resize + ToTensor + ImageNet
Normalize (torchvision.transforms) to a 3x224x224 float32 tensor, measured as
images/s for 1 process and N processes (each process single-threaded, as a
torch DataLoader worker is). Prints one JSON document.

Run with Debian's interpreter, where python3-pil/-torchvision/-numpy live:
  /usr/bin/python3 benchmarks/preprocess_pil.py --jpeg-dir DIR
"""
import argparse
import io
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
MODES = {
    # Resize(256) on a 256x256 image is a copy, as cv::resize is on the C++ side.
    "resize256+crop224": lambda: T.Compose([
        T.Resize(256, interpolation=T.InterpolationMode.BILINEAR),
        T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)]),
    "direct": lambda: T.Compose([
        T.Resize((224, 224), interpolation=T.InterpolationMode.BILINEAR),
        T.ToTensor(), T.Normalize(MEAN, STD)]),
}


def load_files(jpeg_dir):
    names = sorted(n for n in os.listdir(jpeg_dir) if n.endswith(".jpg"))
    if not names:
        sys.exit(f"no .jpg files in {jpeg_dir}")
    return [open(os.path.join(jpeg_dir, n), "rb").read() for n in names]


def one_image(transform, data):
    return transform(Image.open(io.BytesIO(data)).convert("RGB"))


def worker(args):
    files, mode, seconds, barrier, offset = args
    # One core per process: torch would otherwise spread ToTensor/Normalize
    # over every core and the per-process figure would not be per core.
    torch.set_num_threads(1)
    transform = MODES[mode]()
    for i in range(16):  # warm-up: caches, lazy imports
        one_image(transform, files[i % len(files)])
    if barrier is not None:
        barrier.wait()
    n = 0
    i = offset
    cpu_start = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        one_image(transform, files[i % len(files)])
        n += 1
        i += 1
        if (n & 7) == 0 and time.perf_counter() >= deadline:
            break
    return n, time.perf_counter() - start, time.process_time() - cpu_start


def measure(files, mode, processes, seconds):
    """(aggregate images/s, images per CPU-second) of `processes` processes running at once.

    The CPU-time figure is what one core does when it is not shared, which
    stays meaningful on a machine where other work competes for the cores."""
    if processes == 1:
        results = [worker((files, mode, seconds, None, 0))]
    else:
        ctx = mp.get_context("fork")
        with ctx.Manager() as manager, ctx.Pool(processes) as pool:
            barrier = manager.Barrier(processes)
            results = pool.map(worker, [(files, mode, seconds, barrier, 17 * p) for p in range(processes)])
    return sum(n / t for n, t, _ in results), sum(n for n, _, _ in results) / sum(c for _, _, c in results)


def parity(files, jpeg_dir):
    """Max |difference| against the C++ tensors the benchmark wrote, per mode."""
    out = {}
    for mode in MODES:
        path = os.path.join(jpeg_dir, f"img000.{mode}.npy")
        if not os.path.exists(path):
            continue
        ours = np.load(path)
        theirs = one_image(MODES[mode](), files[0]).numpy()
        out[mode] = {"shape": list(theirs.shape), "dtype": str(theirs.dtype),
                     "max_abs_diff": float(np.abs(ours - theirs).max()),
                     "mean_abs_diff": float(np.abs(ours - theirs).mean())}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jpeg-dir", required=True, help="directory of .jpg files (preprocess_bench --write_jpegs=DIR)")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
    ap.add_argument("--processes", default="1,2", help="comma-separated process counts")
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per repeat")
    ap.add_argument("--repeats", type=int, default=5, help="repeats; the median is reported")
    args = ap.parse_args()

    files = load_files(args.jpeg_dir)
    result = {
        "command": " ".join([sys.executable] + sys.argv),
        "python": platform.python_version(),
        "versions": {"PIL": PIL.__version__, "torchvision": torchvision.__version__, "torch": torch.__version__,
                     "numpy": np.__version__},
        "files": len(files),
        "mean_file_bytes": sum(map(len, files)) / len(files),
        "seconds_per_repeat": args.seconds,
        "parity_with_cpp": parity(files, args.jpeg_dir),
        "results": [],
    }
    for mode in args.modes.split(","):
        for p in (int(x) for x in args.processes.split(",")):
            runs = [measure(files, mode, p, args.seconds) for _ in range(args.repeats)]
            wall = [w for w, _ in runs]
            cpu = [c for _, c in runs]
            result["results"].append({"mode": mode, "processes": p, "images_per_second_median": statistics.median(wall),
                                      "images_per_second_runs": wall,
                                      "images_per_cpu_second_median": statistics.median(cpu),
                                      "images_per_cpu_second_runs": cpu})
            print(f"{mode:>18} processes={p}: {statistics.median(wall):8.1f} images/s,"
                  f" {statistics.median(cpu):8.1f} per CPU-second", file=sys.stderr)
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
