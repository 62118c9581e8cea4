#pragma once
// A multithreaded, prefetching batch loader.
//
// Contract: batches come out in a deterministic order with deterministic
// content: which samples form batch b of epoch e, and the augmentation applied
// to each, depend only on (seed, epoch, sample index), never on thread timing.
// Worker threads decode and preprocess ahead of the consumer, bounded by
// `prefetch_batches`. A sample that cannot be read or decoded raises
// Error(kInput) naming the file, from next(), in the consumer's thread.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "data/preprocess.h"

namespace inferbench::data {

struct Sample {
  std::filesystem::path path;
  std::int64_t label = 0;
};

struct Batch {
  std::vector<float> data;            // n * tensor_size floats in cfg.layout
  std::vector<std::int64_t> labels;   // n labels
  std::vector<std::size_t> indices;   // positions of the samples in the loader's sample list
  std::size_t size() const { return labels.size(); }
};

struct LoaderOptions {
  PreprocessConfig preprocess;
  std::optional<AugmentConfig> augment;  // set for training; unset = deterministic preprocessing
  std::size_t batch_size = 32;
  int threads = 0;                  // 0 = all hardware threads
  std::size_t prefetch_batches = 4;
  bool shuffle = false;
  bool drop_last = false;
  std::uint64_t seed = 0;
};

class Loader {
 public:
  Loader(std::vector<Sample> samples, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts (or restarts) an epoch; stops any prefetching of a previous one.
  void start_epoch(std::uint64_t epoch);
  // The next batch of the current epoch, or nullopt at its end. start_epoch(0)
  // is implied before the first call.
  std::optional<Batch> next();

  [[nodiscard]] std::size_t num_samples() const;
  [[nodiscard]] std::size_t num_batches() const;  // per epoch
  [[nodiscard]] const LoaderOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferbench::data
