"""inferbench's TensorFlow and TFLite route: the FP32 ONNX graph inferbench
wrote (export_onnx, its own op subset) rebuilt as a Keras model in NHWC, then
written by TensorFlow's own tools: a SavedModel by Keras' model.export, and
.tflite files by the TFLite converter (FP32; FP16 weights; INT8 by its
full-integer path, calibrated on inferbench's own images).

Embedded into the inferbench binary at build time (src/export/tensorflow/
CMakeLists.txt) and run by the tensorflow and tflite exporters with the
interpreter of the venv that scripts/install_sdks.sh fills (pinned
tensorflow-cpu and onnx).

  python to_tensorflow.py --model FP32.onnx --jobs JOBS.json --report REPORT.json
                          --expect-tensorflow VERSION

JOBS.json lists the files to write from the one Keras model, each
{"kind": "savedmodel"|"tflite", "precision": "fp32"|"fp16"|"int8", "out": PATH,
"report": PATH[, "calibration": X.npy for int8]}: TensorFlow is imported and the
model rebuilt once for all of them (the export stage's TensorFlow formats of
one model in one run). Each job writes its own report; one that fails writes
{"error": reason} there and the others are still written.

Layout: TensorFlow and TFLite are NHWC. The rebuilt model takes N x H x W x 3
("input") and gives N x classes ("logits"); inferbench's preprocessing writes
NHWC tensors for such files (the transpose happens there, before timing, not
in the model). Every ONNX weight is transposed here: Conv [O, I, kh, kw] ->
[kh, kw, I, O], depthwise [C, 1, kh, kw] -> [kh, kw, C, 1], Gemm [O, I] -> [I, O].

Padding: an ONNX pad that TensorFlow's "same" gives exactly (stride 1, odd
kernel, symmetric pads) is "same"; any other is an explicit pad before a
"valid" window (zeros for convolutions; for max pooling -inf, as ONNX pads,
or zeros where the pooled value comes out of a ReLU and so is never negative:
the same maximum, and a plain PAD that XNNPACK's int8 kernels take).

Exit status: 0 with every job's report and REPORT.json written (a job's own
failure, such as a bad calibration array, is in its report); 3 for bad input
shared by every job (a bad jobs file, an op or attribute outside the subset:
named on stderr); 5 when TensorFlow or onnx is missing or not the pinned version.
"""

import argparse
import json
import os
import sys
import time


def fail(code, message):
    print(f"to_tensorflow: {message}", file=sys.stderr)
    sys.exit(code)


class Unsupported(Exception):
    pass


def attrs(node, onnx):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def build_keras(model_path, onnx, numpy_helper, np, keras):
    m = onnx.load(model_path)
    g = m.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    consts = dict(inits)
    for n in g.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(attrs(n, onnx)["value"])
    graph_inputs = [i for i in g.input if i.name not in inits]
    if len(graph_inputs) != 1:
        raise Unsupported(f"expected one graph input, found {[i.name for i in graph_inputs]}")
    gi = graph_inputs[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in gi.type.tensor_type.shape.dim]
    if len(dims) != 4 or dims[1] != 3 or not dims[2] or not dims[3]:
        raise Unsupported(f"input '{gi.name}' is {dims}, expected N x 3 x H x W")
    h, w = dims[2], dims[3]
    x_in = keras.Input(shape=(h, w, 3), name="input")
    # value name -> (keras tensor, rank-4 NHWC or rank-2)
    vals = {gi.name: x_in}
    nonnegative = set()  # values a ReLU (or ReLU6) made: padding them with zeros is padding them with -inf for a max
    ops_used = {}

    def get(name):
        if name not in vals:
            raise Unsupported(f"value '{name}' is used before it is produced")
        return vals[name]

    def pad_or_same(k, s, pads, d):
        if any(v != 1 for v in d):
            raise Unsupported(f"dilations {d}")
        top, left, bottom, right = pads
        if all(p == 0 for p in pads):
            return None, "valid"
        if s == [1, 1] and top == bottom == (k[0] - 1) // 2 and left == right == (k[1] - 1) // 2 and k[0] % 2 and k[1] % 2:
            return None, "same"
        return ((top, bottom), (left, right)), "valid"

    for n in g.node:
        a = attrs(n, onnx)
        op = n.op_type
        ops_used[op] = ops_used.get(op, 0) + 1
        name = n.name or n.output[0]
        lname = name.replace("/", "_").replace(":", "_")
        if op == "Constant":
            continue
        if op == "Conv":
            x = get(n.input[0])
            wt = consts[n.input[1]].astype(np.float32)
            b = consts[n.input[2]].astype(np.float32) if len(n.input) > 2 and n.input[2] else None
            o, ig, kh, kw = wt.shape
            group = int(a.get("group", 1))
            strides = list(a.get("strides", [1, 1]))
            pads = list(a.get("pads", [0, 0, 0, 0]))
            explicit, padding = pad_or_same([kh, kw], strides, pads, list(a.get("dilations", [1, 1])))
            if explicit is not None:
                x = keras.layers.ZeroPadding2D(explicit, name=lname + "_pad")(x)
            cin = ig * group
            if group == 1:
                layer = keras.layers.Conv2D(o, (kh, kw), strides=strides, padding=padding, use_bias=b is not None,
                                            name=lname)
                y = layer(x)
                layer.set_weights([wt.transpose(2, 3, 1, 0)] + ([b] if b is not None else []))
            elif group == cin and ig == 1:
                mult = o // cin
                layer = keras.layers.DepthwiseConv2D((kh, kw), strides=strides, padding=padding, depth_multiplier=mult,
                                                     use_bias=b is not None, name=lname)
                y = layer(x)
                # ONNX [C*mult, 1, kh, kw] (output channel c*mult + j) -> Keras [kh, kw, C, mult]
                dk = wt.reshape(cin, mult, kh, kw).transpose(2, 3, 0, 1)
                layer.set_weights([dk] + ([b] if b is not None else []))
            else:
                layer = keras.layers.Conv2D(o, (kh, kw), strides=strides, padding=padding, groups=group,
                                            use_bias=b is not None, name=lname)
                y = layer(x)
                layer.set_weights([wt.transpose(2, 3, 1, 0)] + ([b] if b is not None else []))
        elif op == "Relu":
            y = keras.layers.ReLU(name=lname)(get(n.input[0]))
        elif op == "Clip":
            lo = float(consts[n.input[1]]) if len(n.input) > 1 and n.input[1] else float(a.get("min", -np.inf))
            hi = float(consts[n.input[2]]) if len(n.input) > 2 and n.input[2] else float(a.get("max", np.inf))
            if lo != 0.0:
                raise Unsupported(f"Clip with min {lo} (only min 0, a ReLU with a ceiling)")
            y = keras.layers.ReLU(max_value=None if np.isinf(hi) else hi, name=lname)(get(n.input[0]))
        elif op == "Sigmoid":
            y = keras.layers.Activation("sigmoid", name=lname)(get(n.input[0]))
        elif op == "HardSigmoid":
            if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
                raise Unsupported(f"HardSigmoid alpha {a.get('alpha', 0.2)} beta {a.get('beta', 0.5)} (only 1/6, 0.5)")
            y = keras.layers.Activation("hard_sigmoid", name=lname)(get(n.input[0]))
        elif op == "HardSwish":
            y = keras.layers.Activation("hard_silu", name=lname)(get(n.input[0]))
        elif op in ("Add", "Mul"):
            ins = []
            for i in n.input:
                if i in consts:
                    raise Unsupported(f"{op} with a constant operand '{i}'")
                ins.append(get(i))
            layer = keras.layers.Add(name=lname) if op == "Add" else keras.layers.Multiply(name=lname)
            y = layer(ins)
        elif op == "GlobalAveragePool":
            y = keras.layers.GlobalAveragePooling2D(keepdims=True, name=lname)(get(n.input[0]))
        elif op == "MaxPool":
            x = get(n.input[0])
            k = list(a["kernel_shape"])
            strides = list(a.get("strides", [1, 1]))
            pads = list(a.get("pads", [0, 0, 0, 0]))
            if a.get("ceil_mode", 0):
                raise Unsupported("MaxPool ceil_mode 1")
            explicit, padding = pad_or_same(k, strides, pads, list(a.get("dilations", [1, 1])))
            if explicit is not None and n.input[0] in nonnegative:
                # Zeros never win a max over values >= 0: the same result as ONNX's -inf pad, and a
                # plain PAD that every TFLite kernel (XNNPACK's int8 ones too) takes.
                x = keras.layers.ZeroPadding2D(explicit, name=lname + "_pad")(x)
            elif explicit is not None:
                (t, bo), (le, r) = explicit
                x = keras.layers.Lambda(
                    lambda v, p=[[0, 0], [t, bo], [le, r], [0, 0]]: keras.ops.pad(v, p, constant_values=-np.inf),
                    name=lname + "_pad")(x)
            y = keras.layers.MaxPooling2D(k, strides=strides, padding=padding, name=lname)(x)
        elif op in ("Flatten", "Reshape"):
            x = get(n.input[0])
            shape = x.shape
            if op == "Flatten" and int(a.get("axis", 1)) != 1:
                raise Unsupported(f"Flatten axis {a.get('axis')}")
            if op == "Reshape":
                target = [int(v) for v in consts[n.input[1]]]
                if len(target) != 2 or target[1] != -1:
                    raise Unsupported(f"Reshape to {target} (only N x -1)")
            if len(shape) == 4 and (shape[1] != 1 or shape[2] != 1):
                raise Unsupported(f"{op} of a {shape[1]} x {shape[2]} feature map (NCHW and NHWC orders differ)")
            if len(shape) == 4:
                # N x 1 x 1 x C -> N x C as a squeeze of the two unit axes: a static op. Flatten
                # of a dynamic batch becomes SHAPE, STRIDED_SLICE, PACK and RESHAPE in TFLite,
                # which XNNPACK does not take, splitting its graph in two around them.
                y = keras.layers.Lambda(lambda v: keras.ops.squeeze(v, axis=(1, 2)), name=lname)(x)
            else:
                y = keras.layers.Flatten(name=lname)(x)
        elif op == "Gemm":
            x = get(n.input[0])
            wt = consts[n.input[1]].astype(np.float32)
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise Unsupported("Gemm other than A x B^T + C")
            kernel = wt.T if a.get("transB", 0) else wt
            b = consts[n.input[2]].astype(np.float32) if len(n.input) > 2 and n.input[2] else None
            layer = keras.layers.Dense(kernel.shape[1], use_bias=b is not None, name=lname)
            y = layer(x)
            layer.set_weights([kernel] + ([b] if b is not None else []))
        elif op == "BatchNormalization":
            x = get(n.input[0])
            scale, bias, mean, var = (consts[i].astype(np.float32) for i in n.input[1:5])
            layer = keras.layers.BatchNormalization(epsilon=float(a.get("epsilon", 1e-5)), name=lname)
            y = layer(x)
            layer.set_weights([scale, bias, mean, var])
        elif op == "Softmax":
            y = keras.layers.Softmax(axis=-1, name=lname)(get(n.input[0]))
        elif op == "Identity":
            y = get(n.input[0])
        else:
            raise Unsupported(f"op {op} (node '{name}') is outside the subset this route converts")
        vals[n.output[0]] = y
        if op == "Relu" or op == "Clip" or (op == "Identity" and n.input[0] in nonnegative):
            nonnegative.add(n.output[0])
    outs = [o.name for o in g.output]
    if len(outs) != 1:
        raise Unsupported(f"expected one graph output, found {outs}")
    logits = keras.layers.Identity(name="logits")(get(outs[0]))
    return keras.Model(x_in, logits, name=os.path.splitext(os.path.basename(model_path))[0]), h, w, ops_used


def signature_names(savedmodel_dir):
    """The serving signature's feed and fetch tensor names, from saved_model.pb."""
    from tensorflow.core.protobuf import saved_model_pb2
    sm = saved_model_pb2.SavedModel()
    with open(os.path.join(savedmodel_dir, "saved_model.pb"), "rb") as f:
        sm.ParseFromString(f.read())
    mg = sm.meta_graphs[0]
    sig = mg.signature_def["serving_default"]
    ins = {k: v.name for k, v in sig.inputs.items()}
    outs = {k: v.name for k, v in sig.outputs.items()}
    return {"tags": list(mg.meta_info_def.tags), "signature": "serving_default", "inputs": ins, "outputs": outs}


class JobFailed(Exception):
    pass


def write_savedmodel(model, job, report):
    try:
        model.export(job["out"], format="tf_saved_model", verbose=False)
    except Exception as e:
        raise JobFailed(f"Keras could not export '{job['out']}': {type(e).__name__}: {e}")
    report["writer"] = "keras.Model.export(format='tf_saved_model')"
    report["signature"] = signature_names(job["out"])


def write_tflite(model, job, report, h, w, np, tf, model_path):
    precision = job["precision"]
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    settings = {"precision": precision}
    if precision == "fp16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
        settings["recipe"] = "float16 weights (Optimize.DEFAULT, supported_types float16)"
    elif precision == "int8":
        path = job.get("calibration", "")
        try:
            x = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise JobFailed(f"'{path}': not a calibration array: {e}")
        if x.dtype != np.float32 or x.ndim != 4 or x.shape[1:] != (3, h, w):
            raise JobFailed(f"'{path}': expected float32 N x 3 x {h} x {w}, got {x.dtype} {list(x.shape)}")
        xs = np.ascontiguousarray(x.transpose(0, 2, 3, 1))

        def representative():
            for i in range(xs.shape[0]):
                yield [xs[i:i + 1]]

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.float32
        conv.inference_output_type = tf.float32
        settings.update({"recipe": "full integer (TFLITE_BUILTINS_INT8 only), float32 input and output",
                         "weights": "int8 symmetric, per channel (the converter's default for convolutions)",
                         "activations": "int8 asymmetric, per tensor",
                         "calibration_images": int(x.shape[0])})
    try:
        blob = conv.convert()
    except Exception as e:
        raise JobFailed(f"the TFLite converter failed on '{model_path}': {type(e).__name__}: {e}")
    with open(job["out"], "wb") as f:
        f.write(blob)
    # The file's own tensor names and types, as a TFLite runtime reports them.
    it = tf.lite.Interpreter(model_content=blob)
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    report["tensors"] = {"input": {"name": i["name"], "dtype": np.dtype(i["dtype"]).name,
                                   "shape_signature": [int(v) for v in i["shape_signature"]]},
                         "output": {"name": o["name"], "dtype": np.dtype(o["dtype"]).name}}
    report["writer"] = "tf.lite.TFLiteConverter.from_keras_model"
    report["settings"] = settings


def read_jobs(path):
    """The files to write: a JSON list of {kind, precision, out, report[, calibration]}."""
    try:
        with open(path) as f:
            jobs = json.load(f)
    except (OSError, ValueError) as e:
        fail(3, f"'{path}': not a jobs file: {e}")
    if not isinstance(jobs, list) or not jobs:
        fail(3, f"'{path}': expected a non-empty list of jobs")
    for n, job in enumerate(jobs):
        if not isinstance(job, dict) or not all(isinstance(job.get(k), str) for k in ("kind", "out", "report")):
            fail(3, f"'{path}': job {n} needs the strings kind, out and report")
        job.setdefault("precision", "fp32")
        if job["kind"] not in ("savedmodel", "tflite"):
            fail(3, f"'{path}': job {n}: kind '{job['kind']}' is not savedmodel or tflite")
        if job["precision"] not in ("fp32", "fp16", "int8"):
            fail(3, f"'{path}': job {n}: precision '{job['precision']}' is not fp32, fp16 or int8")
    return jobs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--jobs", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--expect-tensorflow", default="")
    args = ap.parse_args()
    jobs = read_jobs(args.jobs)

    t0 = time.time()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import numpy as np
        import onnx
        from onnx import numpy_helper
        import tensorflow as tf
        import keras
    except ImportError as e:
        fail(5, f"{e} in {sys.executable} (scripts/install_sdks.sh installs tensorflow-cpu and onnx into its venv)")
    if args.expect_tensorflow and tf.__version__ != args.expect_tensorflow:
        fail(5, f"{sys.executable} has tensorflow {tf.__version__}, inferbench pins {args.expect_tensorflow} "
                f"(scripts/install_sdks.sh)")
    tf.keras.utils.set_random_seed(0)

    try:
        model, h, w, ops = build_keras(args.model, onnx, numpy_helper, np, keras)
    except Unsupported as e:
        fail(3, f"'{args.model}': {e}")
    except Exception as e:
        fail(3, f"'{args.model}': {type(e).__name__}: {e}")
    t_build = time.time() - t0

    common = {"converter": "inferbench to_tensorflow.py (ONNX -> Keras, NHWC)",
              "tensorflow": tf.__version__, "keras": keras.__version__, "onnx": onnx.__version__,
              "numpy": np.__version__, "python": sys.version.split()[0], "onnx_ops": ops,
              "input_shape": [None, h, w, 3], "layout": "NHWC"}
    # Each job writes its file and its own report; a job that fails says why in
    # its report ("error") and the others are still written.
    written = 0
    for job in jobs:
        t1 = time.time()
        report = dict(common)
        try:
            if job["kind"] == "savedmodel":
                if job["precision"] != "fp32":
                    raise JobFailed(f"a SavedModel is written in fp32 only, not {job['precision']}")
                write_savedmodel(model, job, report)
            else:
                write_tflite(model, job, report, h, w, np, tf, args.model)
            written += 1
        except JobFailed as e:
            report = {"error": str(e)}
        report["seconds"] = {"build": round(t_build, 2), "write": round(time.time() - t1, 2),
                             "jobs_in_this_run": len(jobs)}
        with open(job["report"], "w") as f:
            json.dump(report, f, indent=2, sort_keys=True)
    with open(args.report, "w") as f:
        json.dump({"jobs": len(jobs), "written": written,
                   "seconds": {"build": round(t_build, 2), "total": round(time.time() - t0, 2)}},
                  f, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
