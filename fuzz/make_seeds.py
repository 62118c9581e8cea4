"""Seeds of the pickle and pth harnesses, written by Python's own pickle and
torch.save (so they are what the readers meet in real use):
    /usr/bin/python3 fuzz/make_seeds.py OUT   ->  OUT/pickle/*, OUT/pth/*
Debian's interpreter: it has torch (python3-torch, a test dependency)."""
import collections
import io
import os
import pickle
import sys

import torch

out = sys.argv[1]
for d in ("pickle", "pth"):
    os.makedirs(os.path.join(out, d), exist_ok=True)


def put(harness, name, data):
    with open(os.path.join(out, harness, name), "wb") as f:
        f.write(data)


value = {
    "ints": [0, 1, -1, 255, 256, 65535, -(2**31), 2**63 - 1, 2**70],
    "float": 1.5,
    "str": "caf\u00e9",
    "bytes": b"\x00\xff",
    "tuple": (1, (2, 3), ()),
    "none": None,
    "bools": [True, False],
    "shared": None,
}
shared = [1, 2]
value["shared"] = (shared, shared)
for proto in (1, 2, 3, 4, 5):
    put("pickle", f"proto{proto}.pkl", pickle.dumps(value, protocol=proto))
put("pickle", "ordered.pkl", pickle.dumps(collections.OrderedDict(a=1, b=[2.0]), protocol=2))
put("pickle", "two.pkl", pickle.dumps(1, protocol=2) + pickle.dumps("two", protocol=2))

torch.manual_seed(0)
state = collections.OrderedDict()
state["conv.weight"] = torch.randn(2, 1, 3, 3)
state["bn.running_mean"] = torch.zeros(2)
state["bn.num_batches_tracked"] = torch.tensor(3)
state["fc.weight"] = torch.randn(3, 4).t()  # not contiguous: a stride the reader must honour
state["half"] = torch.ones(2, dtype=torch.float16)
state["u8"] = torch.arange(4, dtype=torch.uint8)
views = torch.arange(6.0)
state["view"] = views[2:5]  # an offset into a shared storage
state["whole"] = views


def save(name, obj, legacy=False):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    put("pth", name, buf.getvalue())


save("state.pth", state)
save("state-legacy.pth", state, legacy=True)
save("checkpoint.pth", {"epoch": 3, "state_dict": state, "optimizer": {"lr": 0.1}})
save("checkpoint-legacy.pth", {"model": state}, legacy=True)
save("module-prefix.pth", collections.OrderedDict(("module." + k, v) for k, v in state.items()))
small = collections.OrderedDict(w=torch.tensor([1.0, 2.0]))
save("small.pth", small)
save("small-legacy.pth", small, legacy=True)
# A pickle of tensors written as torch.save writes its data.pkl, for the
# pickle harness: the persistent ids and REDUCE of _rebuild_tensor_v2.
import zipfile

with zipfile.ZipFile(os.path.join(out, "pth", "small.pth")) as z:
    for n in z.namelist():
        if n.endswith("data.pkl"):
            put("pickle", "torch-data.pkl", z.read(n))
