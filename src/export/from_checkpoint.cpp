// load_inference_model: the LibTorch half of inference_model.h (reads the checkpoint).
#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"
#include "export/inference_model.h"
#include "train/checkpoint.h"

namespace inferbench::exporters {

InferenceModel load_inference_model(const std::filesystem::path& checkpoint, bool fold_batch_norm) {
  const train::Checkpoint ck = train::load_checkpoint(checkpoint);
  Weights weights;
  for (const auto& [name, tensor] : ck.state) {
    if (tensor.scalar_type() != torch::kFloat32) continue;  // counters
    const torch::Tensor t = tensor.contiguous();
    Weight w;
    w.shape.assign(t.sizes().begin(), t.sizes().end());
    w.values.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    weights.emplace(name, std::move(w));
  }
  InferenceModel m = make_inference_model(ck.graph, weights, fold_batch_norm);
  m.classes = ck.classes;
  m.preprocess = ck.preprocess;
  const std::vector<std::uint8_t> bytes = read_file_bytes(checkpoint);
  m.source = {{"checkpoint", checkpoint.string()}, {"checkpoint_hash", content_hash(std::span<const std::uint8_t>(bytes))}};
  if (ck.meta.contains("metrics")) m.source["metrics"] = ck.meta["metrics"];
  if (ck.meta.contains("inferbench")) m.source["trained_with"] = ck.meta["inferbench"];
  return m;
}

}  // namespace inferbench::exporters
