#include "verify/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "common/error.h"

namespace inferbench::verify {

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
  c.correct.reserve(labels.size());
  c.reference_correct.reserve(labels.size());
  double sum = 0, lo = ref[0], hi = ref[0];
  for (std::int64_t i = 0; i < n; ++i) {
    const float* r = ref.data() + i * classes;
    const float* g = got.data() + i * classes;
    const auto rb = std::max_element(r, r + classes) - r;
    const auto gb = std::max_element(g, g + classes) - g;
    agree += rb == gb;
    c.correct.push_back(gb == labels[static_cast<std::size_t>(i)]);
    c.reference_correct.push_back(rb == labels[static_cast<std::size_t>(i)]);
    correct += c.correct.back();
    ref_correct += c.reference_correct.back();
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

std::string encode_correct(const std::vector<bool>& correct) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve((correct.size() + 3) / 4);
  for (std::size_t d = 0; 4 * d < correct.size(); ++d) {
    unsigned v = 0;
    for (std::size_t b = 0; b < 4 && 4 * d + b < correct.size(); ++b) {
      if (correct[4 * d + b]) v |= 8U >> b;
    }
    out += kDigits[v];
  }
  return out;
}

std::vector<bool> decode_correct(std::string_view hex, std::size_t count) {
  if (hex.size() != (count + 3) / 4) {
    throw std::invalid_argument(
        fmt::format("per-image correctness: {} hex digits for {} images (expected {})", hex.size(), count, (count + 3) / 4));
  }
  std::vector<bool> out(count);
  for (std::size_t d = 0; d < hex.size(); ++d) {
    const char ch = hex[d];
    int v = -1;
    if (ch >= '0' && ch <= '9') v = ch - '0';
    if (ch >= 'a' && ch <= 'f') v = ch - 'a' + 10;
    if (v < 0) throw std::invalid_argument(fmt::format("per-image correctness: '{}' is not a hex digit", ch));
    for (std::size_t b = 0; b < 4; ++b) {
      const bool bit = (v & (8 >> b)) != 0;
      const std::size_t i = 4 * d + b;
      if (i < count) {
        out[i] = bit;
      } else if (bit) {
        throw std::invalid_argument(fmt::format("per-image correctness: padding bits set past image {}", count));
      }
    }
  }
  return out;
}

namespace {

std::optional<double> figure(const nlohmann::json& v, const char* key) {
  if (!v.is_object() || !v.contains(key) || !v[key].is_number()) return std::nullopt;
  return v[key].get<double>();
}

bool has_predictions(const nlohmann::json& v) {
  return v.is_object() && v.contains("correct") && v["correct"].is_string() && v.contains("test_set") &&
         v["test_set"].is_string() && figure(v, "count").has_value();
}

}  // namespace

PairedTop1 paired_top1(const nlohmann::json& verify_a, const nlohmann::json& verify_b) {
  PairedTop1 out;
  out.top1_a = figure(verify_a, "top1");
  out.top1_b = figure(verify_b, "top1");
  const bool a = has_predictions(verify_a), b = has_predictions(verify_b);
  if (!a || !b) {
    out.why = fmt::format("no paired predictions ({} kept no per-image results: verified before they were recorded, "
                          "or not verified)",
                          !a && !b ? "neither side" : !a ? "A" : "B");
    return out;
  }
  const auto count_a = static_cast<std::size_t>(std::max(0LL, std::llround(*figure(verify_a, "count"))));
  const auto count_b = static_cast<std::size_t>(std::max(0LL, std::llround(*figure(verify_b, "count"))));
  const std::string set_a = verify_a["test_set"], set_b = verify_b["test_set"];
  if (set_a != set_b || count_a != count_b) {
    out.why = fmt::format("the test sets differ (A: {} images, {}; B: {} images, {}): no pairing", count_a,
                          set_a.substr(0, 12), count_b, set_b.substr(0, 12));
    return out;
  }
  out.test = bench::mcnemar(decode_correct(verify_a["correct"].get<std::string>(), count_a),
                            decode_correct(verify_b["correct"].get<std::string>(), count_b));
  out.paired = true;
  return out;
}

const std::vector<Tolerance>& tolerances() {
  static const std::vector<Tolerance> table{
      {artifact::Precision::kFP32, 0.999, 1e-3},
      {artifact::Precision::kFP16, 0.99, 5e-2},
      // BFloat16 keeps FP32's range with 8 bits of mantissa against FP16's 11:
      // trained MobileNetV2 at 64x64 in BF16 (LibTorch's copy, OpenVINO's
      // hint) gave max |diff| 0.012-0.014 x range and 99.3-99.8% agreement,
      // where FP16 gave 0.001 and 100%.
      {artifact::Precision::kBF16, 0.98, 1e-1},
      // Static INT8 is another function by design: it moves every logit by its
      // quantization steps and flips the top-1 of borderline images, more of
      // them the less sure the model is (the main job's EfficientNetB0 at 82%
      // top-1: 92.6% agreement for a 0.24-point drop). It is judged by what it
      // costs in accuracy, not failed on parity: agreement, the top-1 drop and
      // McNemar's p are recorded and a drop beyond --max-top1-drop is flagged.
      // Non-finite logits still fail (max |diff| <= infinity is false for NaN).
      {artifact::Precision::kINT8, 0.0, std::numeric_limits<double>::infinity()},
  };
  return table;
}

const Tolerance& tolerance_for(artifact::Precision p) {
  for (const Tolerance& t : tolerances())
    if (t.precision == p) return t;
  std::vector<artifact::Precision> known;
  for (const Tolerance& t : tolerances()) known.push_back(t.precision);
  fail(ExitCode::kUsage, fmt::format("verify has no parity rule for {} artifacts (it has rules for {})",
                                     artifact::to_string(p), artifact::join(known)));
}

namespace {

// 1e-3 as "1e-3", 5e-2 as "5e-2", 0.25 as "0.25": how the rules are written.
std::string short_number(double x) {
  const int e = static_cast<int>(std::floor(std::log10(x)));
  const double mantissa = x / std::pow(10.0, e);
  if (e < -1 && std::abs(mantissa - std::round(mantissa)) < 1e-9) return fmt::format("{:g}e{}", std::round(mantissa), e);
  return fmt::format("{:g}", x);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string describe_tolerances() {
  std::string out;
  for (const Tolerance& t : tolerances()) {
    const std::string name = upper(artifact::to_string(t.precision));
    const bool bounded = std::isfinite(t.max_abs_diff_scaled);
    if (out.empty()) {
      out = fmt::format("{} passes with >= {:g}% agreement and max |diff| <= {} x max(1, logit range)", name,
                        100 * t.min_agreement, short_number(t.max_abs_diff_scaled));
    } else if (bounded) {
      out += fmt::format("; {} with >= {:g}% and {}", name, 100 * t.min_agreement, short_number(t.max_abs_diff_scaled));
    } else if (t.min_agreement <= 0) {
      out += fmt::format("; {} is judged by its accuracy, not parity (finite logits; the top-1 drop flagged)", name);
    } else {
      out += fmt::format("; {} with >= {:g}% (no |diff| bound)", name, 100 * t.min_agreement);
    }
  }
  return out;
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

}  // namespace inferbench::verify
