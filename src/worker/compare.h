#pragma once
// Comparing an artifact's logits with the reference (LibTorch FP32 on the
// checkpoint) over the same images: the numbers `verify` reports and judges.
#include <cstdint>
#include <string>
#include <vector>

namespace inferbench::worker {

struct Comparison {
  std::int64_t count = 0;
  double top1 = 0;               // accuracy of the artifact against the labels
  double reference_top1 = 0;     // accuracy of the reference
  double agreement = 0;          // fraction of images with the same top-1 class as the reference
  double max_abs_diff = 0;       // over all logits
  double mean_abs_diff = 0;
  double reference_range = 0;    // max - min of the reference logits (the scale for tolerances)
};

// `ref` and `got` are [n, classes] row-major; `labels` has n entries.
// Throws std::invalid_argument when the sizes disagree.
Comparison compare_logits(const std::vector<float>& ref, const std::vector<float>& got,
                          const std::vector<std::int64_t>& labels, std::int64_t classes);

// The rule an artifact must pass, by precision (stated in the README):
// fp32: agreement >= 99.9% and max |diff| <= 1e-3 * max(1, range);
// fp16: agreement >= 99%   and max |diff| <= 5e-2 * max(1, range).
struct Tolerance {
  double min_agreement;
  double max_abs_diff_scaled;  // times max(1, reference_range)
};
Tolerance tolerance_for(const std::string& precision);

struct Verdict {
  bool pass = false;
  std::string why;  // which bound failed, with the numbers ("" when it passes)
};
Verdict judge(const Comparison& c, const Tolerance& t);

}  // namespace inferbench::worker
