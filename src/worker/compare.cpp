#include "worker/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace inferbench::worker {

Comparison compare_logits(const std::vector<float>& ref, const std::vector<float>& got,
                          const std::vector<std::int64_t>& labels, std::int64_t classes) {
  const auto n = static_cast<std::int64_t>(labels.size());
  if (classes < 1 || static_cast<std::int64_t>(ref.size()) != n * classes ||
      static_cast<std::int64_t>(got.size()) != n * classes) {
    throw std::invalid_argument(fmt::format("compare_logits: {} reference and {} logits for {} images of {} classes",
                                            ref.size(), got.size(), n, classes));
  }
  Comparison c;
  c.count = n;
  if (n == 0) return c;
  std::int64_t agree = 0, correct = 0, ref_correct = 0;
  double sum = 0, lo = ref[0], hi = ref[0];
  for (std::int64_t i = 0; i < n; ++i) {
    const float* r = ref.data() + i * classes;
    const float* g = got.data() + i * classes;
    const auto rb = std::max_element(r, r + classes) - r;
    const auto gb = std::max_element(g, g + classes) - g;
    agree += rb == gb;
    correct += gb == labels[static_cast<std::size_t>(i)];
    ref_correct += rb == labels[static_cast<std::size_t>(i)];
    for (std::int64_t k = 0; k < classes; ++k) {
      const double d = std::abs(static_cast<double>(r[k]) - g[k]);
      // A NaN in the artifact's output must fail, not hide in a max.
      c.max_abs_diff = std::isnan(d) ? INFINITY : std::max(c.max_abs_diff, d);
      sum += std::isnan(d) ? INFINITY : d;
      lo = std::min<double>(lo, r[k]);
      hi = std::max<double>(hi, r[k]);
    }
  }
  const auto dn = static_cast<double>(n);
  c.agreement = static_cast<double>(agree) / dn;
  c.top1 = static_cast<double>(correct) / dn;
  c.reference_top1 = static_cast<double>(ref_correct) / dn;
  c.mean_abs_diff = sum / (dn * static_cast<double>(classes));
  c.reference_range = hi - lo;
  return c;
}

Tolerance tolerance_for(const std::string& precision) {
  if (precision == "fp16") return {0.99, 5e-2};
  return {0.999, 1e-3};
}

Verdict judge(const Comparison& c, const Tolerance& t) {
  Verdict v;
  const double bound = t.max_abs_diff_scaled * std::max(1.0, c.reference_range);
  std::vector<std::string> why;
  if (c.agreement < t.min_agreement) {
    why.push_back(fmt::format("top-1 agreement {:.2f}% < {:.2f}%", 100 * c.agreement, 100 * t.min_agreement));
  }
  if (!(c.max_abs_diff <= bound)) {
    why.push_back(fmt::format("max |diff| {:.3g} > {:.3g}", c.max_abs_diff, bound));
  }
  v.pass = why.empty();
  for (std::size_t i = 0; i < why.size(); ++i) v.why += (i ? "; " : "") + why[i];
  return v;
}

}  // namespace inferbench::worker
