"""Writes fixtures for pth_reader_test.cpp into OUTDIR, with Debian's torch and torchvision.

Usage: /usr/bin/python3 make_torchvision_state.py OUTDIR GROUP...

Groups (each test asks only for what it reads, as ctest runs every test in its own process):
  mobilenet_v2, resnet50, efficientnet_b0
      <name>.pth: torch.save(model.state_dict()) of a seeded, randomly initialised torchvision model
      whose batch norm statistics were moved off their initial values; <name>_io.pth:
      {"input": x, "logits": model(x)} in eval mode.
  variants   mobilenet_v2's weights in the other shapes a checkpoint takes (plain dict, legacy
             format, wrapped in a training checkpoint, "module." prefixes).
  dtypes     tensors of every storage type, and views into a shared storage.
  broken     files that must be rejected.
"""
import argparse
import collections
import os
import sys
import zipfile

import torch
import torchvision

ARCHITECTURES = ["mobilenet_v2", "resnet50", "efficientnet_b0"]


def make_model(name, out, save=True):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None, num_classes=10)
    # torchvision's classifier init (std 0.01) gives logits near 0.1; unit weights give logits of
    # order 1-10, so the absolute tolerance of the test is a tight one.
    classifier = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    torch.nn.init.normal_(classifier.weight, 0.0, 1.0)
    # Train-mode passes move running_mean/var and num_batches_tracked away from 0/1/0, so a
    # reader or model that ignored the buffers would give different logits.
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 64, 64))
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        y = model(x)
    sd = model.state_dict()
    if save:
        torch.save(sd, os.path.join(out, f"{name}.pth"))
        torch.save({"input": x, "logits": y}, os.path.join(out, f"{name}_io.pth"))
    return sd


def save_variants(sd, out):
    torch.save(dict(sd), os.path.join(out, "plain.pth"))
    torch.save(sd, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
    wrapped = {
        "epoch": 3,
        "state_dict": sd,
        "args": argparse.Namespace(lr=0.1, name="fruit"),
        "history": [0.5, None, (1, "a", True), b"raw", 2**70, -5, -(2**40)],
        "optimizer": {"momentum": torch.ones(3)},
    }
    torch.save(wrapped, os.path.join(out, "wrapped.pth"))
    torch.save(wrapped, os.path.join(out, "wrapped_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"model": sd, "epoch": 7}, os.path.join(out, "model_wrapped.pth"))
    prefixed = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
    torch.save(prefixed, os.path.join(out, "module.pth"))


def save_dtypes(out):
    # pth_reader_test.cpp builds the same values with LibTorch and compares exactly.
    base = torch.arange(24, dtype=torch.float64).reshape(4, 6) - 7.5
    ints = torch.arange(24).reshape(4, 6) - 7
    f = base.float()
    tensors = {
        "f32": f,
        "strided": f[:, 1::2],  # shares f's storage: a stride and an offset into it
        "transposed": f.t(),
        "row": f[2],
        "f64": base,
        "f16": base.half(),
        "bf16": base.bfloat16(),
        "i64": ints,
        "i32": ints.int(),
        "i16": ints.short(),
        "i8": ints.to(torch.int8),
        "u8": (ints + 7).to(torch.uint8),
        "bool": ints % 3 == 0,
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 3),
        "param": torch.nn.Parameter(f[0].clone()),
    }
    torch.save(tensors, os.path.join(out, "dtypes.pth"))
    torch.save(tensors, os.path.join(out, "dtypes_legacy.pth"), _use_new_zipfile_serialization=False)


def save_broken(out):
    torch.save({"a": 1}, os.path.join(out, "non_tensor.pth"))
    torch.save({"c": torch.zeros(2, dtype=torch.complex64)}, os.path.join(out, "complex.pth"))
    torch.save([torch.zeros(2)], os.path.join(out, "list.pth"))
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(out, "script.pt"))
    # A zip whose first storage record is gone.
    src = os.path.join(out, "source.pth")
    torch.save({"a": torch.zeros(2), "b": torch.ones(3)}, src)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(os.path.join(out, "missing_record.pth"), "w") as zout:
        for info in zin.infolist():
            if not info.filename.endswith("/data/0"):
                zout.writestr(info, zin.read(info.filename))


def main():
    out, groups = sys.argv[1], sys.argv[2:]
    for group in groups:
        if group in ARCHITECTURES:
            make_model(group, out)
        elif group == "variants":
            save_variants(make_model("mobilenet_v2", out, save=False), out)
        elif group == "dtypes":
            save_dtypes(out)
        elif group == "broken":
            save_broken(out)
        else:
            sys.exit(f"unknown fixture group {group!r}")
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}: {' '.join(groups)} in {out}")


if __name__ == "__main__":
    main()
