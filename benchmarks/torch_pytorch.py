#!/usr/bin/python3
"""The Python reference for benchmarks/torch_bench.cpp.

Same measurement in PyTorch eager with torchvision's definition of the model
(`torchvision.models.<arch>(num_classes=N)`):
  --phase train  full SGD steps (forward, loss, backward, optimizer step) on one
                 random batch already in memory; images/s.
  --phase infer  eval-mode forward passes under torch.inference_mode(); latency.
Same inputs (drawn from the same seed by the same generator), same optimizer
settings, same loss, same thread count, same warm-up and stopping rules, same
statistics (LoadGen percentiles: sorted samples, index floor(n*p)), and the
same JSON document on stdout, key for key.

Run with Debian's interpreter, where python3-torch/-torchvision live:
  /usr/bin/python3 benchmarks/torch_pytorch.py --model resnet50 --phase train
"""
import argparse
import json
import math
import platform
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

# The C++ trainer's defaults (src/train/trainer.h), as torch_bench.cpp uses them.
LR = 0.05
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-5
LABEL_SMOOTHING = 0.1
MODELS = ("mobilenet_v2", "efficientnet_b0", "resnet50")


def run_timed(rules, call):
    """Warm-up (not counted), then timed calls until the stopping rule; as run_timed in torch_bench.cpp."""
    first_ms = 0.0
    warmup_iters = 0
    warm_start = time.perf_counter()
    while warmup_iters < rules["warmup_iters"] or time.perf_counter() - warm_start < rules["warmup_s"]:
        s = time.perf_counter()
        call()
        if warmup_iters == 0:
            first_ms = (time.perf_counter() - s) * 1e3
        warmup_iters += 1
    warmup_s = time.perf_counter() - warm_start

    samples = []
    cpu_start = time.process_time()
    start = time.perf_counter()
    while True:
        s = time.perf_counter()
        call()
        e = time.perf_counter()
        samples.append((e - s) * 1e3)
        elapsed = e - start
        if len(samples) >= rules["min_iters"] and elapsed >= rules["min_s"]:
            stop_reason = "min_iters_and_min_s"
            break
        if elapsed >= rules["max_s"]:
            stop_reason = "max_s"
            break
    wall_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    return {"first_ms": first_ms, "warmup_iters": warmup_iters, "warmup_s": warmup_s, "samples_ms": samples,
            "wall_s": wall_s, "cpu_s": cpu_s, "stop_reason": stop_reason}


def percentile(sorted_samples, p):
    """LoadGen's percentile: no interpolation, index floor(n*p)."""
    return sorted_samples[min(math.floor(len(sorted_samples) * p), len(sorted_samples) - 1)]


def stats(timed, batch, min_iters):
    s = sorted(timed["samples_ms"])
    n = len(s)
    total = sum(s)
    mean = total / n
    stddev = math.sqrt(sum((v - mean) ** 2 for v in s) / (n - 1)) if n > 1 else 0.0
    images = n * batch
    return {"count": n, "sum_s": total * 1e-3, "wall_s": timed["wall_s"], "cpu_s": timed["cpu_s"],
            "median_ms": percentile(s, 0.5), "p90_ms": percentile(s, 0.9), "p95_ms": percentile(s, 0.95),
            "p99_ms": percentile(s, 0.99), "p999_ms": percentile(s, 0.999), "mean_ms": mean, "min_ms": s[0],
            "max_ms": s[-1], "stddev_ms": stddev, "cv": stddev / mean, "unstable": stddev / mean > 0.10,
            "images_per_second": images / (total * 1e-3),
            "images_per_cpu_second": images / timed["cpu_s"] if timed["cpu_s"] > 0 else 0.0,
            "stopped_short": n < min_iters, "stop_reason": timed["stop_reason"],
            "p90_reliable": n >= 64, "p99_reliable": n >= 662}


def weighted_loss(logits, labels, weights):
    per_sample = F.cross_entropy(logits, labels, label_smoothing=LABEL_SMOOTHING, reduction="none")
    return (per_sample * weights).sum() / weights.sum()


def inputs_and_model(model, classes, size, batch, seed, init_from):
    """The batch and the model, drawn as TrainBench (torch_train_step.h) draws them."""
    # Inputs first, from their own seed: the same tensors as the C++ side draws.
    torch.manual_seed(seed)
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(classes, (batch,), dtype=torch.long)
    w = torch.rand(batch) + 0.5

    torch.manual_seed(seed + 1)
    net = getattr(torchvision.models, model)(num_classes=classes)
    if init_from:
        net.load_state_dict(torch.load(init_from))
    return net, x, y, w


def train_step(net, x, y, w, seed, losses):
    """Training mode, the optimizer, the dropout seed, and one SGD step as a function (TrainBench::step)."""
    net.train()
    torch.manual_seed(seed + 2)  # dropout and stochastic depth masks, as the C++ side reseeds
    # foreach=False is 1.13's CPU default; said explicitly so a newer torch does not change the work.
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY,
                          foreach=False)

    def step():
        loss = weighted_loss(net(x), y, w)
        losses.append(loss.item())
        opt.zero_grad()  # set_to_none=False, 1.13's default, as LibTorch's zero_grad
        loss.backward()
        opt.step()

    return step


def run(a):
    if a.phase == "train" and a.batch < 2:
        sys.exit("training needs --batch >= 2 (batch norm)")
    torch.set_num_threads(a.threads)
    net, x, y, w = inputs_and_model(a.model, a.classes, a.size, a.batch, a.seed, a.init_from)
    if a.save_state:
        torch.save(net.state_dict(), a.save_state)
    params = sum(p.numel() for p in net.parameters())

    with torch.inference_mode():
        net.eval()
        logits = net(x)
        check = {"parameters": params, "output_shape": list(logits.shape),
                 "eval_loss": weighted_loss(logits, y, w).item(), "logits_abs_sum": logits.abs().sum().item(),
                 "input_sums": [x.sum().item(), float(y.sum().item()), w.sum().item()]}

    rules = {"warmup_s": a.warmup_s, "warmup_iters": a.warmup_iters, "min_s": a.min_s, "min_iters": a.min_iters,
             "max_s": a.max_s}
    if a.phase == "train":
        losses = []
        timed = run_timed(rules, train_step(net, x, y, w, a.seed, losses))
        # None (JSON null) when not finite, as nlohmann::json writes it on the C++ side.
        check["first_step_loss"] = losses[0] if math.isfinite(losses[0]) else None
        check["last_step_loss"] = losses[-1] if math.isfinite(losses[-1]) else None
        check["nonfinite_step_losses"] = sum(not math.isfinite(v) for v in losses)
    else:
        with torch.inference_mode():
            net.eval()
            timed = run_timed(rules, lambda: net(x))

    return {
        "schema": "inferbench.torch_bench/1",
        "side": "python",
        "framework": "PyTorch eager (torchvision model)",
        "model": a.model,
        "phase": a.phase,
        "config": {"num_classes": a.classes, "image_size": a.size, "batch_size": a.batch,
                   "threads_requested": a.threads, "warmup_min_s": a.warmup_s, "warmup_min_iters": a.warmup_iters,
                   "min_s": a.min_s, "min_iters": a.min_iters, "max_s": a.max_s, "seed": a.seed,
                   "init_from": a.init_from,
                   "optimizer": {"name": "sgd", "lr": LR, "momentum": MOMENTUM, "nesterov": True,
                                 "weight_decay": WEIGHT_DECAY},
                   "label_smoothing": LABEL_SMOOTHING,
                   "grad_mode": "grad" if a.phase == "train" else "inference_mode"},
        "threads_used": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                     "python": platform.python_version(), "python_executable": sys.executable},
        "check": check,
        "first_call_ms": timed["first_ms"],
        "warmup": {"iterations": timed["warmup_iters"], "seconds": timed["warmup_s"]},
        "stats": stats(timed, a.batch, a.min_iters),
        "samples_ms": timed["samples_ms"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="mobilenet_v2", choices=MODELS)
    ap.add_argument("--phase", default="train", choices=("train", "infer"))
    ap.add_argument("--classes", type=int, default=10, help="classifier outputs (default 10)")
    ap.add_argument("--size", type=int, default=64, help="input height and width (default 64)")
    ap.add_argument("--batch", type=int, default=32, help="images per call (default 32)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--warmup-s", type=float, default=1.0, help="warm-up: at least this many seconds (default 1)")
    ap.add_argument("--warmup-iters", type=int, default=10, help="warm-up: at least this many calls (default 10)")
    ap.add_argument("--min-s", type=float, default=10.0, help="timed: at least this many seconds (default 10)")
    ap.add_argument("--min-iters", type=int, default=64, help="timed: at least this many calls (default 64)")
    ap.add_argument("--max-s", type=float, default=60.0,
                    help="timed: stop after this many seconds even short of --min-iters (default 60)")
    ap.add_argument("--seed", type=int, default=1,
                    help="seed of the inputs (seed), the weights (seed + 1) and dropout (seed + 2)")
    ap.add_argument("--init-from", default="", help="state_dict file to start from")
    ap.add_argument("--save-state", default="", help="write the initial state_dict here (for torch_bench --init-from)")
    a = ap.parse_args()
    json.dump(run(a), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
