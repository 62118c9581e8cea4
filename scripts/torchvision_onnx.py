#!/usr/bin/python3
"""Independent ONNX export for cross-checking inferbench's own exporter.

Loads an inferbench checkpoint (torch.load reads it: a dict holding the
state_dict and a JSON "meta" with the architecture and class count), builds
torchvision's own definition of the same architecture, loads the weights by
name, and writes the ONNX that PyTorch's exporter makes from it
(torch.onnx.export). `verify` and the tests run both files in ONNX Runtime on
the same inputs: equal logits mean our IR, our weight mapping and our ONNX
emitter agree with torchvision and PyTorch, which share none of our code.

    scripts/torchvision_onnx.py CHECKPOINT OUT.onnx [--opset 13]
"""
import argparse
import json
import sys

import torch
import torchvision


def shapes(sd):
    return {k: tuple(v.shape) for k, v in sd.items()}


def build(meta, state):
    arch = meta["architecture"]
    classes = int(meta["ir"]["num_classes"])
    if arch == "mobilenet_v2":
        # The width multiplier is not stored as such: find the one whose
        # tensors have the checkpoint's shapes.
        want = shapes(state)
        for width in (1.0, 0.25, 0.35, 0.5, 0.75, 1.3, 1.4, 2.0):
            model = torchvision.models.mobilenet_v2(num_classes=classes, width_mult=width)
            if shapes(model.state_dict()) == want:
                return model
        sys.exit("torchvision_onnx: no mobilenet_v2 width multiplier matches the checkpoint's tensor shapes")
    if arch == "resnet50":
        return torchvision.models.resnet50(num_classes=classes)
    if arch == "efficientnet_b0":
        return torchvision.models.efficientnet_b0(num_classes=classes)
    sys.exit(f"torchvision_onnx: architecture '{arch}' has no torchvision definition here")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--opset", type=int, default=13)
    args = ap.parse_args()

    ck = torch.load(args.checkpoint, map_location="cpu")
    if not isinstance(ck, dict) or ck.get("format") != "inferbench-checkpoint":
        sys.exit(f"torchvision_onnx: '{args.checkpoint}' is not an inferbench checkpoint")
    meta = json.loads(ck["meta"])
    model = build(meta, ck["state_dict"])
    model.load_state_dict(ck["state_dict"], strict=True)
    model.eval()
    size = int(meta["preprocess"]["image_size"])
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, dummy, args.out, opset_version=args.opset, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    print(args.out)


if __name__ == "__main__":
    main()
