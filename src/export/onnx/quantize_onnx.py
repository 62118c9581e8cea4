"""inferbench's INT8 route for ONNX: ONNX Runtime's static post-training
quantization (onnxruntime.quantization.quantize_static, QDQ format), fed the
calibration images inferbench drew and preprocessed itself.

Embedded into the inferbench binary at build time (src/export/onnx/CMakeLists.txt)
and run by the onnx-int8 exporter (onnx_int8_export.cpp) with the interpreter of
the venv that scripts/install_sdks.sh fills (pinned onnxruntime and onnx).

  python quantize_onnx.py --model FP32.onnx --calibration X.npy --out INT8.onnx
                          --report REPORT.json --input NAME --batch N
                          --expect-onnxruntime VERSION

The recipe (the field's usual one for CNNs on x86 CPUs, ONNX Runtime's own
recommendation): per-channel symmetric int8 weights, per-tensor asymmetric uint8
activations (U8S8, what VNNI's vpdpbusd multiplies), ranges by MinMax over the
calibration images, after ONNX Runtime's quantization pre-processing (shape
inference and basic graph optimisation). MinMax over fixed images in a fixed
order is deterministic: the same images give the same file.

Exit status: 0 with REPORT.json written; 3 for bad input (the file or array
named on stderr); 5 when the quantizer is missing or not the pinned version.
"""

import argparse
import json
import os
import sys


def fail(code, message):
    print(f"quantize_onnx: {message}", file=sys.stderr)
    sys.exit(code)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--calibration", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--input", default="input")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--expect-onnxruntime", default="")
    args = ap.parse_args()

    try:
        import numpy as np
        import onnx
        import onnxruntime
        from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                              quantize_static)
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:
        fail(5, f"{e} in {sys.executable} (scripts/install_sdks.sh installs onnxruntime and onnx into its venv)")
    if args.expect_onnxruntime and onnxruntime.__version__ != args.expect_onnxruntime:
        fail(5, f"{sys.executable} has onnxruntime {onnxruntime.__version__}, inferbench pins "
                f"{args.expect_onnxruntime} (scripts/install_sdks.sh)")

    try:
        x = np.load(args.calibration, allow_pickle=False)
    except (OSError, ValueError) as e:
        fail(3, f"'{args.calibration}': not a calibration array: {e}")
    if x.dtype != np.float32 or x.ndim != 4 or x.shape[0] < 1:
        fail(3, f"'{args.calibration}': expected float32 N x C x H x W with N >= 1, got {x.dtype} {list(x.shape)}")
    if args.batch < 1:
        fail(3, f"--batch {args.batch}: expected >= 1")

    class Images(CalibrationDataReader):
        """The calibration images in their drawn order, args.batch at a time."""

        def __init__(self):
            self.at = 0

        def get_next(self):
            if self.at >= x.shape[0]:
                return None
            b = np.ascontiguousarray(x[self.at:self.at + args.batch])
            self.at += args.batch
            return {args.input: b}

        def rewind(self):
            self.at = 0

    pre = args.out + ".pre.onnx"
    try:
        quant_pre_process(args.model, pre, skip_symbolic_shape=True)
        settings = {
            "quant_format": "QDQ",
            "per_channel": True,
            "weight_type": "QInt8",
            "weight_symmetric": True,
            "activation_type": "QUInt8",
            "activation_symmetric": False,
            "reduce_range": False,
            "calibrate_method": "MinMax",
            "pre_process": "quant_pre_process(skip_symbolic_shape=True)",
        }
        quantize_static(pre, args.out, Images(), quant_format=QuantFormat.QDQ, per_channel=True,
                        reduce_range=False, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})
    except onnx.checker.ValidationError as e:
        fail(3, f"'{args.model}': not a valid ONNX model: {e}")
    except Exception as e:  # the quantizer's own errors, whatever their type: named, with its message
        fail(3, f"quantize_static on '{args.model}' failed: {type(e).__name__}: {e}")
    finally:
        if os.path.exists(pre):
            os.remove(pre)

    m = onnx.load(args.out)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    report = {
        "quantizer": "onnxruntime.quantization.quantize_static",
        "onnxruntime": onnxruntime.__version__,
        "onnx": onnx.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "settings": settings,
        "calibration_images": int(x.shape[0]),
        "calibration_batch": args.batch,
        "nodes": dict(sorted(ops.items())),
    }
    with open(args.report, "w") as f:
        json.dump(report, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
