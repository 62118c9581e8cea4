#pragma once
// Splits and balancing.
//
// Assignment is by hash, not by shuffle order: an image's split depends only
// on its content hash and the seed, so adding images never moves existing
// ones, and identical files (same hash) always land in the same split.
// Proportions are stratified per class in expectation (each class is split
// by the same thresholds); the achieved counts are reported.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "data/manifest.h"

namespace inferbench::data {

enum class Balance { kNone, kUndersample, kOversample, kClassWeights };
std::string_view to_string(Balance b);
Balance parse_balance(std::string_view s);  // throws Error(kUsage)

struct SplitOptions {
  double train = 0.70;
  double val = 0.15;
  double test = 0.15;
  std::uint64_t seed = 42;
  // When the dataset has its own train/test split: keep it (val carved from
  // train with fraction val / (train + val)). Ignored for flat layouts.
  bool use_dataset_split = true;
  bool balance_test = true;
  Balance train_balance = Balance::kNone;

  void validate() const;  // throws Error(kUsage) naming the bad value
};

// A classifier needs this many classes with usable images; `train` refuses a
// manifest of fewer classes. `data scan` and `data split` warn (one_class_warning).
inline constexpr std::size_t kMinClasses = 2;

// The warning for a dataset whose classes with usable images (`with_images`)
// are fewer than kMinClasses; "" when there are enough.
std::string one_class_warning(const std::vector<std::string>& with_images);

// Assigns splits in place and applies balancing. The summary's "warnings"
// name empty classes, classes without validation images, and too few classes
// (one_class_warning). Returns the summary (counts
// per class and split, surplus, class weights when asked for).
nlohmann::json split_manifest(Manifest& manifest, const SplitOptions& options);

}  // namespace inferbench::data
