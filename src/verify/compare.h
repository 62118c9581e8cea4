#pragma once
// Comparing an artifact's logits with the reference (LibTorch FP32 on the
// checkpoint) over the same images: the numbers `verify` reports and judges.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/precision.h"
#include "bench/stats.h"

namespace inferbench::verify {

struct Comparison {
  std::int64_t count = 0;
  double top1 = 0;               // accuracy of the artifact against the labels
  double reference_top1 = 0;     // accuracy of the reference
  double agreement = 0;          // fraction of images with the same top-1 class as the reference
  double max_abs_diff = 0;       // over all logits
  double mean_abs_diff = 0;
  double reference_range = 0;    // max - min of the reference logits (the scale for tolerances)
  // Per image, in tensor order: top-1 equals the label (the paired data of
  // McNemar's test, bench::mcnemar).
  std::vector<bool> correct, reference_correct;
};

// `ref` and `got` are [n, classes] row-major; `labels` has n entries.
// Throws std::invalid_argument when the sizes disagree.
Comparison compare_logits(const std::vector<float>& ref, const std::vector<float>& got,
                          const std::vector<std::int64_t>& labels, std::int64_t classes);

// Per-image correctness as verify.json and the results database keep it:
// hex digits (lowercase), four images each, the first image in the high bit
// of the first digit, the last digit padded with zero bits; "" for none.
std::string encode_correct(const std::vector<bool>& correct);
// The inverse for `count` images. Throws std::invalid_argument when `hex` is
// not ceil(count / 4) hex digits or its padding bits are set.
std::vector<bool> decode_correct(std::string_view hex, std::size_t count);

// Two runs' accuracy on paired predictions, from the verify figures each
// carries (the bench runner copies them into Result::summary["verify"]: top1,
// count, test_set, correct). They pair only when both kept per-image results
// of the same test set (same content hash and count); otherwise `why` says
// what is missing, and the top-1s (when known) are all there is.
struct PairedTop1 {
  std::optional<double> top1_a, top1_b;
  bool paired = false;
  std::string why;     // when not paired: "no paired predictions (...)" or "the test sets differ (...)"
  bench::McNemar test;  // when paired: a's and b's correctness, discordant counts, exact p
};
// Throws std::invalid_argument when a run's per-image text is malformed.
PairedTop1 paired_top1(const nlohmann::json& verify_a, const nlohmann::json& verify_b);

// The rule an artifact of one precision must pass: agreement with the
// reference's top-1 of at least min_agreement, and max |diff| at most
// max_abs_diff_scaled * max(1, range of the reference logits).
struct Tolerance {
  artifact::Precision precision;
  double min_agreement;
  double max_abs_diff_scaled;  // times max(1, reference_range)
};

// The one table of parity rules (verify judges by it; its help text and the
// README quote describe_tolerances()): fp32 >= 99.9% and 1e-3, fp16 >= 99%
// and 5e-2, int8 >= 95% and no |diff| bound (max_abs_diff_scaled infinite).
const std::vector<Tolerance>& tolerances();

// The rule for `p`. Throws Error(kUsage) naming the precision when the table
// has none (no artifact of that precision can be verified yet).
const Tolerance& tolerance_for(artifact::Precision p);

// The table in words, e.g. "FP32 passes with >= 99.9% agreement and max |diff|
// <= 1e-3 x max(1, logit range); FP16 with >= 99% and 5e-2".
std::string describe_tolerances();

struct Verdict {
  bool pass = false;
  std::string why;  // which bound failed, with the numbers ("" when it passes)
};
Verdict judge(const Comparison& c, const Tolerance& t);

}  // namespace inferbench::verify
