#include "train/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace inferbench::train {

ClassificationMetrics::ClassificationMetrics(std::vector<std::string> classes)
    : classes_(std::move(classes)), confusion_(classes_.size(), std::vector<std::int64_t>(classes_.size(), 0)) {
  if (classes_.empty()) throw std::logic_error("ClassificationMetrics needs at least one class");
}

void ClassificationMetrics::add(const float* logits, const std::int64_t* labels, std::size_t n) {
  const std::size_t k = classes_.size();
  const std::size_t topk = std::min<std::size_t>(5, k);
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = logits + i * k;
    const auto label = labels[i];
    if (label < 0 || static_cast<std::size_t>(label) >= k) {
      throw std::logic_error(fmt::format("label {} out of range for {} classes", label, k));
    }
    std::size_t best = 0;
    for (std::size_t c = 1; c < k; ++c) {
      if (row[c] > row[best]) best = c;
    }
    // Rank of the true class: how many classes score strictly higher, or
    // equal with a lower index (the same tie rule as argmax).
    std::size_t rank = 0;
    const float truth = row[label];
    for (std::size_t c = 0; c < k; ++c) {
      if (row[c] > truth || (row[c] == truth && c < static_cast<std::size_t>(label))) ++rank;
    }
    top1_hits_ += best == static_cast<std::size_t>(label) ? 1 : 0;
    top5_hits_ += rank < topk ? 1 : 0;
    ++confusion_[static_cast<std::size_t>(label)][best];
    predictions_.push_back(static_cast<std::int64_t>(best));
    ++count_;
  }
}

double ClassificationMetrics::top1() const {
  return count_ == 0 ? 0.0 : static_cast<double>(top1_hits_) / static_cast<double>(count_);
}
double ClassificationMetrics::top5() const {
  return count_ == 0 ? 0.0 : static_cast<double>(top5_hits_) / static_cast<double>(count_);
}

double ClassificationMetrics::precision(std::size_t c) const {
  std::int64_t predicted = 0;
  for (const auto& row : confusion_) predicted += row[c];
  return predicted == 0 ? 0.0 : static_cast<double>(confusion_[c][c]) / static_cast<double>(predicted);
}

double ClassificationMetrics::recall(std::size_t c) const {
  std::int64_t actual = 0;
  for (auto v : confusion_[c]) actual += v;
  return actual == 0 ? 0.0 : static_cast<double>(confusion_[c][c]) / static_cast<double>(actual);
}

double ClassificationMetrics::f1(std::size_t c) const {
  const double p = precision(c);
  const double r = recall(c);
  return p + r == 0.0 ? 0.0 : 2.0 * p * r / (p + r);
}

double ClassificationMetrics::macro_f1() const {
  double sum = 0.0;
  std::size_t n = 0;
  for (std::size_t c = 0; c < classes_.size(); ++c) {
    std::int64_t involved = 0;
    for (std::size_t j = 0; j < classes_.size(); ++j) involved += confusion_[c][j] + confusion_[j][c];
    if (involved == 0) continue;
    sum += f1(c);
    ++n;
  }
  return n == 0 ? 0.0 : sum / static_cast<double>(n);
}

nlohmann::json ClassificationMetrics::to_json() const {
  nlohmann::json per_class = nlohmann::json::array();
  for (std::size_t c = 0; c < classes_.size(); ++c) {
    std::int64_t support = 0;
    for (auto v : confusion_[c]) support += v;
    per_class.push_back({{"class", classes_[c]},
                         {"precision", precision(c)},
                         {"recall", recall(c)},
                         {"f1", f1(c)},
                         {"support", support}});
  }
  return {{"count", count_},     {"top1", top1()},           {"top5", top5()},           {"macro_f1", macro_f1()},
          {"classes", classes_}, {"per_class", per_class}, {"confusion", confusion_}};
}

std::string ClassificationMetrics::table() const {
  std::size_t w = 5;
  for (const auto& c : classes_) w = std::max(w, c.size());
  std::string out = fmt::format("{:<{}} {:>9} {:>9} {:>9} {:>8}\n", "class", w, "precision", "recall", "f1", "support");
  for (std::size_t c = 0; c < classes_.size(); ++c) {
    std::int64_t support = 0;
    for (auto v : confusion_[c]) support += v;
    out += fmt::format("{:<{}} {:>9.3f} {:>9.3f} {:>9.3f} {:>8}\n", classes_[c], w, precision(c), recall(c), f1(c),
                       support);
  }
  out += fmt::format("top-1 {:.2f}%  top-5 {:.2f}%  macro-F1 {:.3f}  ({} images)\n", 100 * top1(), 100 * top5(),
                     macro_f1(), count_);
  out += "\nconfusion (rows: true class, columns: predicted, in class order)\n";
  for (std::size_t c = 0; c < classes_.size(); ++c) {
    out += fmt::format("{:<{}}", classes_[c], w);
    for (auto v : confusion_[c]) out += fmt::format(" {:>5}", v);
    out += '\n';
  }
  return out;
}

}  // namespace inferbench::train
