# The Python half of the litert backend (litert_backend.cpp): LiteRT's own
# interpreter API (ai_edge_litert.interpreter, the only LiteRT API with a CPU
# thread count), run inside the C++ worker by embedded CPython. The worker's
# timed loop, clock and rules are the C++ ones; each timed call is one call of
# Runner.run, which is what a bare Python loop over the runtime does
# (set_tensor, invoke, get_tensor) plus wrapping the caller's memory.
#
# Errors: every exception reaches C++, which names its type and message; the
# C++ side maps ImportError to "unavailable" and InputError to a bad input.
import json

import numpy as np

import ai_edge_litert
from ai_edge_litert import interpreter as _lrt


class InputError(ValueError):
    """A model file or an input batch that does not fit (the caller's mistake)."""


def version():
    return str(getattr(ai_edge_litert, "__version__", "unknown"))


_INT8 = (np.int8, np.uint8)
# The ops whose operand types say what arithmetic ran: convolutions, matrix
# products and the ops that carry most of the remaining work.
_COMPUTE = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "BATCH_MATMUL", "TRANSPOSE_CONV", "CONV_3D"}


class Runner:
    def __init__(self, path, threads, xnnpack):
        self.path = path
        self.xnnpack = bool(xnnpack)
        resolver = (_lrt.OpResolverType.AUTO if self.xnnpack
                    else _lrt.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        try:
            self.it = _lrt.Interpreter(model_path=path, num_threads=int(threads),
                                       experimental_op_resolver_type=resolver)
        except ValueError as e:  # what LiteRT raises for a file it cannot read as a model
            raise InputError(str(e).strip().splitlines()[-1] if str(e).strip() else "not a TFLite model") from None
        ins, outs = self.it.get_input_details(), self.it.get_output_details()
        if len(ins) != 1 or len(outs) != 1:
            raise InputError("the model has %d inputs and %d outputs, expected one image input and one logits output"
                             % (len(ins), len(outs)))
        self.inp, self.out = ins[0], outs[0]
        for what, d in (("input", self.inp), ("output", self.out)):
            if d["dtype"] != np.float32:
                raise InputError("its %s '%s' is %s, expected float32" % (what, d["name"], np.dtype(d["dtype"]).name))
        self.signature = [int(v) for v in self.inp.get("shape_signature", self.inp["shape"])]
        if len(self.signature) != 4:
            raise InputError("its input '%s' has rank %d, expected 4 (N x H x W x C)"
                             % (self.inp["name"], len(self.signature)))
        self.in_index, self.out_index = self.inp["index"], self.out["index"]
        self.shape = None
        self.threads = int(threads)

    def input_shape(self):
        return self.signature

    def run(self, buf, shape):
        if shape != self.shape:
            for i in (1, 2, 3):
                if self.signature[i] > 0 and shape[i] != self.signature[i]:
                    raise InputError("input of shape %s does not fit the model, which expects N x %d x %d x %d (NHWC)"
                                     % (list(shape), self.signature[1], self.signature[2], self.signature[3]))
            self.it.resize_tensor_input(self.in_index, list(shape), strict=False)
            self.it.allocate_tensors()
            self.shape = shape
        self.it.set_tensor(self.in_index, np.frombuffer(buf, np.float32).reshape(shape))
        self.it.invoke()
        return self.it.get_tensor(self.out_index)

    def execution(self):
        """What ran: each op of the file, whether a delegate (XNNPACK) took it,
        and the operand types of the compute ops. A delegate node replaces the
        ops it took; they are the ops found walking back from its outputs
        without crossing its inputs."""
        ops = self.it._get_ops_details()
        plain = [o for o in ops if o["op_name"] != "DELEGATE"]
        delegates = [o for o in ops if o["op_name"] == "DELEGATE"]
        producer = {}
        for o in plain:
            for t in o["outputs"]:
                producer[int(t)] = o
        taken = set()
        for d in delegates:
            boundary = {int(t) for t in d["inputs"]}
            stack = [int(t) for t in d["outputs"]]
            while stack:
                t = stack.pop()
                o = producer.get(t)
                if t in boundary or o is None or o["index"] in taken:
                    continue
                taken.add(o["index"])
                stack.extend(int(x) for x in o["inputs"] if int(x) >= 0)

        def count(items):
            out = {}
            for k in items:
                out[k] = out.get(k, 0) + 1
            return dict(sorted(out.items()))

        int_ops = float_ops = f16_weights = 0
        compute = {}
        for o in plain:
            if o["op_name"] not in _COMPUTE:
                continue
            act = o["operand_types"][0] if o["operand_types"] else None
            kind = "int8" if act in _INT8 else "float32" if act == np.float32 else np.dtype(act).name
            key = "%s %s %s" % (o["op_name"], kind, "xnnpack" if o["index"] in taken else "builtin")
            compute[key] = compute.get(key, 0) + 1
            if act in _INT8:
                int_ops += 1
            elif act == np.float32:
                float_ops += 1
        f16_weights = sum(1 for o in plain if o["op_name"] == "DEQUANTIZE"
                          and o["operand_types"] and o["operand_types"][0] == np.float16)
        precision = ("int8" if int_ops and not float_ops else "mixed" if int_ops
                     else "fp32" if float_ops else "unknown")
        tensor_types = count(np.dtype(t["dtype"]).name for t in self.it.get_tensor_details())
        out = {
            "precision": precision,
            "how": "LiteRT's interpreter: the operand types of the file's convolution and matrix ops, and which ops "
                   "the delegate nodes took (the default delegate of OpResolverType.AUTO is XNNPACK)",
            "delegate": "XNNPACK" if delegates else "none (LiteRT's built-in kernels)",
            "delegate_nodes": len(delegates),
            "ops": len(plain),
            "ops_delegated": len(taken),
            "ops_not_delegated": count(o["op_name"] for o in plain if o["index"] not in taken),
            "integer_compute_ops": int_ops,
            "float_compute_ops": float_ops,
            "compute_ops": compute,
            "tensor_types": tensor_types,
        }
        if f16_weights:
            out["note"] = ("FP16 weights, FP32 compute: %d float16 weight tensors are DEQUANTIZE'd to float32 "
                           "before the %d float32 compute ops" % (f16_weights, float_ops))
        return json.dumps(out)
