#pragma once
// The checkpoint: one self-describing file holding everything a later stage
// needs: the model IR, the weights, the class names, the preprocessing, the
// training configuration and metrics, and the inferbench version.
//
// On disk it is what Python's torch.save writes for a dict (LibTorch's
// pickle_save), so `torch.load("model.ckpt")` opens it too:
//   {"format": "inferbench-checkpoint", "version": 1,
//    "meta": "<JSON text>", "state_dict": {name: tensor, ...},
//    "optimizer": uint8 tensor (resume checkpoints only)}
// Files are written atomically (temporary file + rename), so a crash or a
// full disk while saving leaves the previous checkpoint intact.
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/preprocess.h"
#include "model/ir.h"

namespace inferbench::train {

inline constexpr int kCheckpointVersion = 1;
inline constexpr const char* kCheckpointFormat = "inferbench-checkpoint";

struct Checkpoint {
  model::Graph graph;
  std::vector<std::string> classes;
  data::PreprocessConfig preprocess;
  nlohmann::json meta;  // everything, including the three fields above, as written
  std::map<std::string, torch::Tensor> state;
  std::string optimizer_state;  // serialized torch::optim state; empty unless saved for resume
};

// `meta` must already hold "training" / "metrics" etc.; this adds the format
// fields, the IR, classes, preprocessing and the inferbench build.
void save_checkpoint(const std::filesystem::path& path, const model::Graph& graph,
                     const std::vector<std::pair<std::string, torch::Tensor>>& state,
                     const std::vector<std::string>& classes, const data::PreprocessConfig& preprocess,
                     nlohmann::json meta, const std::string& optimizer_state = {});

// Throws Error(kInput) naming the file for a missing or unreadable file, a file
// that is not an inferbench checkpoint, a newer format version, or weights
// that do not match the IR.
Checkpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace inferbench::train
