#!/usr/bin/python3
"""LibTorch C++ against PyTorch in Python, training throughput, in ONE process.

run_torch.sh measures each side in its own process. On this 2-core VM a
process settles in a faster or a slower mode for its whole life (up to +-15%
between processes, steady inside one), so with a handful of processes per
side the ratio carries a confidence interval of +-15-20%. Here the Python
process loads inferbench's C++ training step (build/benchmarks/
libtorch_inprocess.so, TrainBench from torch_train_step.h, the same code
torch_bench runs) through ctypes and alternates blocks of C++ steps and
Python steps (torchvision's model, the same step as torch_pytorch.py), C++
first in even rounds and Python first in odd ones. Both use the same
libtorch_cpu (Debian's python3-torch and libtorch-dev are one build), the same
thread setting (torch.set_num_threads is process-wide), the same weights and
inputs; only the front end differs: inferbench's C++ IR module, LibTorch's C++
autograd calls and torch::optim::SGD against torchvision's nn.Modules, Python
dispatch and torch.optim.SGD.

Per round: Python's median step time / C++'s median step time (> 1: C++ is
faster). Result: the median of the rounds' ratios with a percentile-bootstrap
95% confidence interval over rounds, and each side's median step and images/s.
Before timing, the first step of each side from the same weights, inputs and
dropout seed must give the same loss ("same work").

  cmake --build build --target torch_inprocess
  /usr/bin/python3 benchmarks/torch_interleaved.py --lib build/benchmarks/libtorch_inprocess.so \\
      --models mobilenet_v2 efficientnet_b0 resnet50 --threads 2 --seconds 90
"""
import argparse
import ctypes
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_pytorch as tp  # noqa: E402  (the Python side's step, shared with run_torch.sh's measurements)


def load_library(path):
    lib = ctypes.CDLL(os.path.abspath(path))
    lib.ib_train_create.argtypes = [ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint64,
                                    ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p, ctypes.c_int]
    lib.ib_train_create.restype = ctypes.c_int
    lib.ib_train_step.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_double), ctypes.c_char_p, ctypes.c_int]
    lib.ib_train_step.restype = ctypes.c_int
    lib.ib_train_destroy.argtypes = [ctypes.c_void_p]
    lib.ib_train_destroy.restype = None
    return lib


class CppSide:
    def __init__(self, lib, model, classes, size, batch, seed, init_from):
        self.lib = lib
        self.handle = ctypes.c_void_p()
        self.err = ctypes.create_string_buffer(4096)
        if lib.ib_train_create(model.encode(), classes, size, batch, seed, init_from.encode(),
                               ctypes.byref(self.handle), self.err, len(self.err)) != 0:
            raise RuntimeError(f"C++ side: {self.err.value.decode(errors='replace')}")
        self.losses = []

    def step(self):
        loss = ctypes.c_double()
        if self.lib.ib_train_step(self.handle, ctypes.byref(loss), self.err, len(self.err)) != 0:
            raise RuntimeError(f"C++ step: {self.err.value.decode(errors='replace')}")
        self.losses.append(loss.value)

    def close(self):
        self.lib.ib_train_destroy(self.handle)


def bootstrap_median_ci(values, reps=10000, seed=1):
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(reps))
    return [meds[int(0.025 * reps)], meds[int(0.975 * reps) - 1]]


def measure(lib, model, a):
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        # torchvision's initialisation, saved once: both sides start from it.
        torch.manual_seed(a.seed + 1)
        state = os.path.join(tmp, f"{model}.pt")
        torch.save(getattr(torchvision.models, model)(num_classes=a.classes).state_dict(), state)

        cpp = CppSide(lib, model, a.classes, a.size, a.batch, a.seed, state)  # reseeds dropout: seed + 2
        cpp.step()
        net, x, y, w = tp.inputs_and_model(model, a.classes, a.size, a.batch, a.seed, state)
        py_losses = []
        py_step = tp.train_step(net, x, y, w, a.seed, py_losses)  # reseeds dropout: seed + 2
        py_step()
    first_cpp, first_py = cpp.losses[0], py_losses[0]
    same_work = abs(first_cpp - first_py) <= 1e-4 * max(1.0, abs(first_cpp))

    sides = {"cpp": cpp.step, "python": py_step}
    for _ in range(a.warmup):
        for call in sides.values():
            call()
    rounds = []
    start = time.perf_counter()
    cpu_start = time.process_time()
    while time.perf_counter() - start < a.seconds or len(rounds) < a.min_rounds:
        order = ("cpp", "python") if len(rounds) % 2 == 0 else ("python", "cpp")
        r = {}
        for side in order:
            samples = []
            for _ in range(a.block):
                s = time.perf_counter()
                sides[side]()
                samples.append((time.perf_counter() - s) * 1e3)
            r[side] = samples
        rounds.append(r)
        print(f"\r[interleaved {model} t{a.threads}] round {len(rounds)}  "
              f"{time.perf_counter() - start:.0f}/{a.seconds:.0f} s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    wall = time.perf_counter() - start
    cpp.close()

    ratios = [statistics.median(r["python"]) / statistics.median(r["cpp"]) for r in rounds]
    all_ms = {s: [v for r in rounds for v in r[s]] for s in ("cpp", "python")}
    losses = cpp.losses + py_losses
    return {
        "model": model, "threads": a.threads, "threads_used": torch.get_num_threads(), "image_size": a.size,
        "batch_size": a.batch, "classes": a.classes, "block": a.block, "rounds": len(rounds), "seconds": wall,
        "cpu_seconds": time.process_time() - cpu_start,
        "first_step_loss": {"cpp": first_cpp, "python": first_py}, "same_work": same_work,
        "nonfinite_step_losses": sum(1 for v in losses if v != v or v in (float("inf"), float("-inf"))),
        "cpp_over_python": statistics.median(ratios), "cpp_over_python_ci95": bootstrap_median_ci(ratios),
        "round_ratios": ratios,
        "median_step_ms": {s: statistics.median(v) for s, v in all_ms.items()},
        "images_per_second": {s: a.batch * len(v) / (sum(v) * 1e-3) for s, v in all_ms.items()},
        "samples_ms": all_ms,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", default="build/benchmarks/libtorch_inprocess.so", help="the torch_inprocess target")
    ap.add_argument("--models", nargs="+", default=list(tp.MODELS), choices=tp.MODELS)
    ap.add_argument("--threads", type=int, nargs="+", default=[2], help="torch.set_num_threads values (default 2)")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--size", type=int, default=64, help="input height and width (default 64, the main job's)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=90.0, help="timed seconds per model and thread count")
    ap.add_argument("--min-rounds", type=int, default=10, help="at least this many rounds even past --seconds")
    ap.add_argument("--block", type=int, default=4, help="steps per side per round (default 4)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps per side first (default 5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="", help="write the JSON here (default: stdout only)")
    a = ap.parse_args()
    if a.batch < 2:
        sys.exit("training needs --batch >= 2 (batch norm)")
    lib = load_library(a.lib)
    load_start = os.getloadavg()
    results = [measure(lib, m, argparse.Namespace(**{**vars(a), "threads": t})) for t in a.threads for m in a.models]
    doc = {"schema": "inferbench.torch_interleaved/1", "command": " ".join(sys.argv),
           "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
           "cores": os.cpu_count(), "load_average_start": load_start, "load_average_end": os.getloadavg(),
           "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                        "python": platform.python_version()},
           "results": results}
    if a.out:
        with open(a.out, "w") as f:
            json.dump(doc, f, indent=2)
    print("| model | threads | rounds | C++ median step ms | Python median step ms | C++ img/s | Python img/s | "
          "**C++/Python** (median of rounds) | 95% CI | same work |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ci = r["cpp_over_python_ci95"]
        print(f"| {r['model']} | {r['threads_used']} | {r['rounds']} | {r['median_step_ms']['cpp']:.1f} | "
              f"{r['median_step_ms']['python']:.1f} | {r['images_per_second']['cpp']:.1f} | "
              f"{r['images_per_second']['python']:.1f} | **{r['cpp_over_python']:.3f}x** | "
              f"[{ci[0]:.3f}, {ci[1]:.3f}] | {'yes' if r['same_work'] else 'NO'} |")


if __name__ == "__main__":
    main()
