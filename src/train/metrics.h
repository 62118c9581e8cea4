#pragma once
// Classification metrics from logits and labels: accuracy, top-5, per-class
// precision/recall/F1, macro-F1 and the confusion matrix. Plain C++ (no
// LibTorch) so training, verify and the benchmark reports share one tested
// implementation.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace inferbench::train {

class ClassificationMetrics {
 public:
  explicit ClassificationMetrics(std::vector<std::string> classes);

  // logits: n x num_classes, row-major. Labels in [0, num_classes). Ties in a
  // row are broken towards the lower class index (as torch.argmax does).
  void add(const float* logits, const std::int64_t* labels, std::size_t n);

  [[nodiscard]] std::size_t count() const { return count_; }
  [[nodiscard]] double top1() const;
  [[nodiscard]] double top5() const;  // top-k with k = min(5, classes)
  [[nodiscard]] double precision(std::size_t c) const;  // 0 when nothing was predicted as c
  [[nodiscard]] double recall(std::size_t c) const;     // 0 when c has no samples
  [[nodiscard]] double f1(std::size_t c) const;
  [[nodiscard]] double macro_f1() const;  // mean F1 over classes that have samples or predictions
  // confusion()[true][predicted]
  [[nodiscard]] const std::vector<std::vector<std::int64_t>>& confusion() const { return confusion_; }
  [[nodiscard]] const std::vector<std::string>& classes() const { return classes_; }
  [[nodiscard]] const std::vector<std::int64_t>& predictions() const { return predictions_; }

  [[nodiscard]] nlohmann::json to_json() const;
  // Per-class table and the confusion matrix, for the terminal.
  [[nodiscard]] std::string table() const;

 private:
  std::vector<std::string> classes_;
  std::vector<std::vector<std::int64_t>> confusion_;
  std::vector<std::int64_t> predictions_;
  std::size_t count_ = 0;
  std::size_t top1_hits_ = 0;
  std::size_t top5_hits_ = 0;
};

}  // namespace inferbench::train
