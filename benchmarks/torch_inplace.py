# Torchvision alone: eval inference at batch 32, 224x224, 1 thread, with its activations
# in place (as shipped) and out of place, interleaved. benchmarks/torch.md ("The batch-32 gap").
# Usage: /usr/bin/python3 benchmarks/torch_inplace.py
import torch, torchvision, time, statistics
torch.set_num_threads(1)
for name in ["mobilenet_v2", "resnet50"]:
    m = getattr(torchvision.models, name)(num_classes=10).eval()
    def set_inplace(v):
        for mod in m.modules():
            if isinstance(mod, (torch.nn.ReLU, torch.nn.ReLU6)): mod.inplace = v
    x = torch.randn(32, 3, 224, 224)
    res = {True: [], False: []}
    with torch.inference_mode():
        for v in (True, False): set_inplace(v); m(x)
        for i in range(6):
            for v in (True, False):
                set_inplace(v); t = time.perf_counter(); m(x); res[v].append(time.perf_counter() - t)
    a, b = statistics.median(res[True]), statistics.median(res[False])
    print(name, "inplace %.3f s  out-of-place %.3f s  ratio inplace/out %.3f" % (a, b, a / b))
