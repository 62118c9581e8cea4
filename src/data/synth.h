#pragma once
// The built-in dataset: ten fruit classes rendered procedurally.
//
// No dataset can be downloaded where inferbench is developed and tested, so
// it ships this generator. Each class has a typical shape, colour, texture and
// parts (stems, leaves, seeds, crowns), drawn over varied backgrounds,
// lighting, pose, scale, partial occlusion and noise, so that classes overlap
// enough that a CNN does not reach 100% in one epoch yet is clearly learnable.
// Output is deterministic by seed: the same config writes byte-identical files.
#include <cstdint>
#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/rng.h"

namespace inferbench::data {

// The ten classes of the study, in this order (index = class id).
const std::vector<std::string>& fruit_classes();

// Renders one image of class `class_index` (0..9), `size` x `size`, CV_8UC3 RGB.
cv::Mat render_fruit(int class_index, int size, Rng& rng);

struct SynthConfig {
  std::filesystem::path out_dir;
  int images_per_class = 120;
  int image_size = 256;
  std::uint64_t seed = 1;
  std::string format = "jpeg";  // "jpeg", "png" or "mixed" (every 5th image PNG)
  int jpeg_quality = 90;
  int threads = 0;              // 0 = all hardware threads; output does not depend on it
};

struct SynthReport {
  std::vector<std::string> classes;
  std::vector<int> counts;  // per class
  std::uint64_t bytes_written = 0;
  double seconds = 0.0;
};

// Writes out_dir/<Class>/<class>_<NNNNN>.<jpg|png>. Existing files with the
// same names are overwritten. Throws Error(kUsage) for bad config values and
// Error(kOutput) when a file cannot be written. Shows progress on stderr.
SynthReport synthesize_dataset(const SynthConfig& config);

}  // namespace inferbench::data
