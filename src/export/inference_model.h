#pragma once
// The model as exporters see it: an inference-only IR graph with plain float
// weights, independent of LibTorch, so every emitter (TorchScript, ONNX,
// OpenVINO) starts from the same folded graph and the same numbers.
//
// make_inference_model():
// - drops Dropout and StochasticDepth nodes (identity at inference), rewiring
//   their consumers to their input;
// - with fold_batch_norm, replaces every Conv2d -> BatchNorm2d pair whose conv
//   output feeds only that batch norm by one Conv2d with bias:
//     s = gamma / sqrt(var + eps);  W' = W * s (per output channel);
//     b' = (b - mean) * s + beta     (computed in double, stored as float);
// - keeps node names (the folded conv keeps the conv's name, so its tensors are
//   "<conv>.weight" / "<conv>.bias") and re-validates the result.
// Buffers that inference does not read (num_batches_tracked) are not carried.
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/preprocess.h"
#include "model/ir.h"

namespace inferbench::exporters {

struct Weight {
  model::Shape shape;
  std::vector<float> values;  // row-major
};
using Weights = std::map<std::string, Weight>;

struct InferenceModel {
  model::Graph graph;  // inference-only (see above)
  Weights weights;     // every tensor the graph's nodes read, by IR name
  std::vector<std::string> classes;
  data::PreprocessConfig preprocess;
  nlohmann::json source;  // provenance (checkpoint path, hash, training metrics)
  int folded_batch_norms = 0;
  int removed_nodes = 0;  // dropout / stochastic depth
};

// Throws Error(kInput) when a tensor the graph needs is missing from `weights`
// or has the wrong shape or a non-finite value, naming the tensor.
InferenceModel make_inference_model(const model::Graph& graph, const Weights& weights, bool fold_batch_norm);

// Reads an inferbench checkpoint (LibTorch needed: only in builds with
// INFERBENCH_HAVE_LIBTORCH; elsewhere throws Error(kUnavailable)).
InferenceModel load_inference_model(const std::filesystem::path& checkpoint, bool fold_batch_norm);

}  // namespace inferbench::exporters
