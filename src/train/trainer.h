#pragma once
// `inferbench train`: LibTorch C++ training of one architecture on a manifest.
//
// Contract:
// - Reads only the manifest (train/val/test splits, oversampling `repeat`,
//   class `weight`) and the files it names; a stale manifest is refused.
// - Deterministic: the same manifest, config, seed and thread count give the
//   same weights. Each epoch reseeds LibTorch's generator from (seed, epoch),
//   and the loader's order and augmentation depend only on (seed, epoch, index).
// - After every epoch OUT/last.ckpt (weights + optimizer + progress) is
//   written atomically; a run killed at any point continues with --resume
//   from the last finished epoch and ends with the same weights as a run
//   never interrupted. OUT/model.ckpt is the best epoch by validation
//   accuracy (ties: lower validation loss), evaluated on the test split.
// - A NaN or infinite loss stops training; the last good checkpoints stay,
//   and the result says so (status "diverged").
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "data/manifest.h"

namespace inferbench::train {

struct TrainConfig {
  std::string model = "mobilenet_v2";
  int image_size = 64;  // evaluation, checkpoint and export size
  // Training images at this size when > 0 (else image_size): train smaller,
  // test larger. With random-resized-crop augmentation objects look larger in
  // training crops than in the centred test image, so a network trained
  // below its test size can lose little (Touvron et al. 2019, "Fixing the
  // train-test resolution discrepancy") for about (train / test)^2 of the
  // cost at large sizes. At 64 pixels it lost ResNet50 accuracy here
  // (benchmarks/training-budget.md).
  int train_size = 0;
  int epochs = 10;
  int batch_size = 32;
  std::string optimizer = "sgd";  // "sgd" (momentum, Nesterov) or "adamw"
  double lr = 0.02;
  double momentum = 0.9;
  double weight_decay = 5e-5;
  double warmup_epochs = 1.0;  // linear warm-up, then cosine decay to 0
  double label_smoothing = 0.1;
  std::string augment = "standard";        // none, light, standard, strong
  std::string normalization = "imagenet";  // preprocessing preset
  bool freeze_backbone = false;            // train only the classifier (with --init-from)
  // ResNet50 only: start the last batch norm of every bottleneck (layerN.M.bn3)
  // at weight 0, so each residual block begins as the identity (torchvision's
  // zero_init_residual; Goyal et al. 2017).
  bool zero_init_residual = false;
  std::string init_from;                   // torchvision state_dict (.pth) to start from
  double width_mult = 1.0;                 // mobilenet_v2 only
  std::optional<double> dropout;           // nullopt = architecture default
  int patience = 0;                        // early stopping after this many epochs without gain; 0 = off
  int threads = 0;                         // LibTorch intra-op threads; 0 = all cores
  std::uint64_t seed = 1;
  std::filesystem::path out_dir = "inferbench-out/train";
  bool resume = false;   // continue from OUT/last.ckpt
  bool force = false;    // start over even if OUT holds a run

  void validate() const;  // throws Error(kUsage) naming the flag
  [[nodiscard]] nlohmann::json to_json() const;
};

struct TrainResult {
  std::string status;  // "completed", "early-stopped", "diverged"
  int epochs_run = 0;
  int best_epoch = 0;
  double best_val_accuracy = 0.0;
  nlohmann::json test_metrics;  // ClassificationMetrics::to_json() of the best model on the test split
  std::string test_table;       // for the terminal
  double seconds = 0.0;
  std::filesystem::path checkpoint;
};

TrainResult train(const data::Manifest& manifest, const TrainConfig& config);

}  // namespace inferbench::train
