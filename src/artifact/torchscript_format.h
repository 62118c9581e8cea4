#pragma once
// What an inferbench TorchScript file (.pt) holds besides the module, shared by
// the exporter that writes it and the torchscript backend that reads it.
// Header-only and free of LibTorch, so any target may include it.
//
// - The module: class "__torch__.InferbenchModel", attribute "training" (false),
//   one parameter per weight (IR name with every non-identifier character
//   replaced by '_'), and forward(self, input: Tensor) -> Tensor taking
//   N x C x H x W float32 and returning the logits N x classes.
// - Extra file kDescriptionFile: the artifact description as the sidecar has
//   it (artifact::to_json: classes, preprocess, input size, provenance) plus
//   "torchscript": {"module", "attributes": {attribute name: IR tensor name}}.
// - Extra file kSourceFile: the generated TorchScript source of forward(),
//   with the IR node name above each line.
// Python reads them with torch.jit.load(path, _extra_files={"inferbench.json": ""}).
#include <string_view>

namespace inferbench::torchscript {

inline constexpr std::string_view kModuleName = "InferbenchModel";
inline constexpr std::string_view kDescriptionFile = "inferbench.json";
inline constexpr std::string_view kSourceFile = "inferbench_forward.py";

}  // namespace inferbench::torchscript
