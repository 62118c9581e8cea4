"""inferbench's INT8 route for the OpenVINO IR: NNCF's post-training
quantization (nncf.quantize on an openvino.Model), fed the calibration images
inferbench drew and preprocessed itself.

Embedded into the inferbench binary at build time (src/export/openvino/CMakeLists.txt)
and run by the openvino-int8 exporter (openvino_int8_export.cpp) with the
interpreter of the venv that scripts/install_sdks.sh fills (pinned openvino and nncf).

  python quantize_openvino.py --model FP32.xml --calibration X.npy --out INT8.xml
                              --report REPORT.json --expect-openvino VERSION
                              --expect-nncf VERSION

The recipe: NNCF's MIXED preset, its default for CNNs: per-channel symmetric int8
weights, per-tensor asymmetric activations (uint8 on x86, what VNNI's vpdpbusd
multiplies), ranges by MinMax over every calibration image (subset_size = their
count, one image per sample, in the drawn order), then NNCF's fast bias
correction; the model type left as a CNN (no transformer ignored scopes). The
same images give the same file: MinMax over fixed images in a fixed order and
the bias correction's statistics over the same images are deterministic.

Exit status: 0 with REPORT.json written; 3 for bad input (the file or array
named on stderr) or a quantizer failure (its type and message); 5 when NNCF or
OpenVINO is missing or not the pinned version.
"""

import argparse
import json
import sys


def fail(code, message):
    print(f"quantize_openvino: {message}", file=sys.stderr)
    sys.exit(code)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--calibration", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--expect-openvino", default="")
    ap.add_argument("--expect-nncf", default="")
    args = ap.parse_args()

    try:
        import numpy as np
        import openvino as ov
        import nncf
    except ImportError as e:
        fail(5, f"{e} in {sys.executable} (scripts/install_sdks.sh installs openvino and nncf into its venv)")
    ov_version = ov.get_version()
    if args.expect_openvino and not ov_version.startswith(args.expect_openvino):
        fail(5, f"{sys.executable} has openvino {ov_version}, inferbench pins {args.expect_openvino} "
                f"(scripts/install_sdks.sh)")
    if args.expect_nncf and nncf.__version__ != args.expect_nncf:
        fail(5, f"{sys.executable} has nncf {nncf.__version__}, inferbench pins {args.expect_nncf} "
                f"(scripts/install_sdks.sh)")

    try:
        x = np.load(args.calibration, allow_pickle=False)
    except (OSError, ValueError) as e:
        fail(3, f"'{args.calibration}': not a calibration array: {e}")
    if x.dtype != np.float32 or x.ndim != 4 or x.shape[0] < 1:
        fail(3, f"'{args.calibration}': expected float32 N x C x H x W with N >= 1, got {x.dtype} {list(x.shape)}")

    core = ov.Core()
    try:
        model = core.read_model(args.model)
    except Exception as e:  # OpenVINO's reader raises RuntimeError subclasses with its message
        fail(3, f"'{args.model}': OpenVINO cannot read it: {e}")
    if len(model.inputs) != 1:
        fail(3, f"'{args.model}': {len(model.inputs)} inputs, expected one image input")

    settings = {
        "preset": "MIXED",
        "weights": "int8, per-channel, symmetric",
        "activations": "8-bit, per-tensor, asymmetric",
        "range_estimator": "MinMax (NNCF's default for the MIXED preset)",
        "subset_size": int(x.shape[0]),
        "fast_bias_correction": True,
        "model_type": "CNN (default)",
        "calibration_batch": 1,
    }
    try:
        images = nncf.Dataset([np.ascontiguousarray(x[i:i + 1]) for i in range(x.shape[0])])
        quantized = nncf.quantize(model, images, preset=nncf.QuantizationPreset.MIXED,
                                  subset_size=int(x.shape[0]), fast_bias_correction=True)
        ov.save_model(quantized, args.out, compress_to_fp16=False)
    except Exception as e:  # NNCF's own errors, whatever their type: named, with its message
        fail(3, f"nncf.quantize on '{args.model}' failed: {type(e).__name__}: {e}")

    ops = {}
    fake_quantize = 0
    for op in quantized.get_ops():
        t = op.get_type_name()
        ops[t] = ops.get(t, 0) + 1
        fake_quantize += t == "FakeQuantize"
    report = {
        "quantizer": "nncf.quantize",
        "nncf": nncf.__version__,
        "openvino": ov_version,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "settings": settings,
        "calibration_images": int(x.shape[0]),
        "fake_quantize_nodes": fake_quantize,
        "nodes": dict(sorted(ops.items())),
    }
    with open(args.report, "w") as f:
        json.dump(report, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
