#include "bench/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "common/rng.h"

namespace inferbench::bench {
namespace {

void check_unit_interval(const char* what, double q) {
  // Written so that NaN fails too.
  if (!(q >= 0.0 && q <= 1.0)) throw std::invalid_argument(fmt::format("{} = {} is outside [0, 1]", what, q));
}

void check_open_unit_interval(const char* what, double x) {
  if (!(x > 0.0 && x < 1.0)) throw std::invalid_argument(fmt::format("{} = {} is outside (0, 1)", what, x));
}

// LoadGen's index: n * q in double, truncated; q = 1 (not allowed by LoadGen)
// is clamped to the last sample.
std::size_t quantile_index(std::size_t n, double q) {
  return std::min(static_cast<std::size_t>(static_cast<double>(n) * q), n - 1);
}

// Sorted copy of `samples`; throws when it is empty or holds a NaN or an infinity.
std::vector<double> sorted_finite(const std::vector<double>& samples, const char* what) {
  if (samples.empty()) throw std::invalid_argument(fmt::format("{}: no samples", what));
  for (const double x : samples) {
    if (!std::isfinite(x)) throw std::invalid_argument(fmt::format("{}: sample {} is not finite", what, x));
  }
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

// Medians (index quantile_index(n, 0.5), as percentile(..., 0.5)) of
// `resamples` resamples with replacement of `sorted`, in draw order. A
// resample's median is found by counting how often each index was drawn:
// since `sorted` is ascending, the k-th value of the sorted resample is
// sorted[j] for the first j whose cumulative count exceeds k. That is O(n)
// per resample, with no copy and no sort.
std::vector<double> bootstrap_medians(const std::vector<double>& sorted, int resamples, Rng& rng) {
  const std::size_t n = sorted.size();
  const std::size_t k = quantile_index(n, 0.5);
  const auto dn = static_cast<double>(n);
  std::vector<std::uint32_t> counts(n);
  std::vector<double> medians;
  medians.reserve(static_cast<std::size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    std::fill(counts.begin(), counts.end(), 0U);
    for (std::size_t i = 0; i < n; ++i) ++counts[std::min(static_cast<std::size_t>(rng.uniform() * dn), n - 1)];
    std::size_t seen = 0, j = 0;
    while ((seen += counts[j]) <= k) ++j;
    medians.push_back(sorted[j]);
  }
  return medians;
}

// The percentile bootstrap interval: the (1 - c) / 2 and (1 + c) / 2 quantiles
// of the bootstrap statistics, by the same rule as every other percentile.
std::pair<double, double> percentile_interval(std::vector<double> statistics, double confidence) {
  std::sort(statistics.begin(), statistics.end());
  return {percentile(statistics, (1.0 - confidence) / 2.0), percentile(statistics, (1.0 + confidence) / 2.0)};
}

std::string percent(double fraction) { return fmt::format("{:.1f}%", 100.0 * fraction); }

struct MannWhitney {
  double u = 0;  // of the first sample
  double p_value = 1;
};

// Midranks for ties; variance n_a n_b / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1)))
// over the tie groups of size t; z = (|U - n_a n_b / 2| - 1/2) / sigma;
// p = 2 (1 - Phi(z)) = erfc(z / sqrt(2)), at most 1.
MannWhitney mann_whitney(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<std::pair<double, bool>> all;  // (value, from a)
  all.reserve(a.size() + b.size());
  for (const double x : a) all.emplace_back(x, true);
  for (const double x : b) all.emplace_back(x, false);
  std::sort(all.begin(), all.end());
  const std::size_t n = all.size();
  double rank_sum_a = 0, tie_term = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && all[j + 1].first == all[i].first) ++j;
    const double midrank = static_cast<double>(i + j) / 2.0 + 1.0;  // ranks are 1-based
    const auto t = static_cast<double>(j - i + 1);
    tie_term += t * t * t - t;
    for (std::size_t k = i; k <= j; ++k) {
      if (all[k].second) rank_sum_a += midrank;
    }
    i = j + 1;
  }
  const auto na = static_cast<double>(a.size());
  const auto nb = static_cast<double>(b.size());
  const auto dn = static_cast<double>(n);
  MannWhitney r;
  r.u = rank_sum_a - na * (na + 1.0) / 2.0;
  const double variance = na * nb / 12.0 * ((dn + 1.0) - tie_term / (dn * (dn - 1.0)));
  const double distance = std::abs(r.u - na * nb / 2.0) - 0.5;
  // All values tied (variance 0), or U within 1/2 of its mean: no evidence at all.
  if (variance <= 0.0 || distance <= 0.0) return r;
  r.p_value = std::min(1.0, std::erfc(distance / std::sqrt(variance) / std::sqrt(2.0)));
  return r;
}

}  // namespace

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) throw std::invalid_argument("percentile: no samples");
  check_unit_interval("percentile: q", q);
  if (!std::is_sorted(sorted.begin(), sorted.end())) throw std::invalid_argument("percentile: samples not sorted");
  return sorted[quantile_index(sorted.size(), q)];
}

std::size_t samples_needed(double q, double confidence) {
  if (!(q >= 0.0 && q < 1.0)) throw std::invalid_argument(fmt::format("samples_needed: q = {} is outside [0, 1)", q));
  check_open_unit_interval("samples_needed: confidence", confidence);
  if (q == 0.0) return 1;
  // P(at most one of n samples lies above the q-quantile) decreases with n;
  // the first n where it drops below 1 - confidence (LoadGen's strict '<').
  // A linear walk: p99.9 takes 6636 steps, cheap next to any measurement.
  for (std::size_t n = 1;; ++n) {
    const auto dn = static_cast<double>(n);
    const double at_most_one = std::pow(q, dn) + dn * (1.0 - q) * std::pow(q, dn - 1.0);
    if (at_most_one < 1.0 - confidence) return n;
  }
}

bool enough(std::size_t count, double elapsed_s, const StopRule& rule) {
  if (count >= rule.max_count || elapsed_s >= rule.max_seconds) return true;
  return count >= rule.min_count && elapsed_s >= rule.min_seconds;
}

double median_ci_width(const std::vector<std::int64_t>& samples) {
  const std::size_t n = samples.size();
  if (n < 2) return std::numeric_limits<double>::infinity();
  std::vector<std::int64_t> x = samples;
  const double half = 0.98 * std::sqrt(static_cast<double>(n));
  const double mid = static_cast<double>(n) / 2.0;
  const auto clamp_rank = [n](double r) { return std::clamp<std::size_t>(static_cast<std::size_t>(std::max(r, 1.0)), 1, n); };
  const std::size_t j = clamp_rank(std::floor(mid - half));
  const std::size_t k = clamp_rank(std::ceil(mid + 1.0 + half));
  auto at = [&](std::size_t rank) {  // the rank-th smallest (1-based)
    std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(rank - 1), x.end());
    return static_cast<double>(x[rank - 1]);
  };
  const double median = at(n / 2 + 1);  // as summarize() takes it: index floor(n / 2)
  const double lo = at(j);
  const double hi = at(k);
  if (median <= 0) return std::numeric_limits<double>::infinity();
  return (hi - lo) / median;
}

void SummaryOptions::validate() const {
  if (resamples < 1) throw std::invalid_argument(fmt::format("summarize: resamples = {} < 1", resamples));
  check_open_unit_interval("summarize: confidence", confidence);
  check_open_unit_interval("summarize: percentile_confidence", percentile_confidence);
  if (!(cv_threshold >= 0.0)) throw std::invalid_argument(fmt::format("summarize: cv_threshold = {}", cv_threshold));
  if (!(iqr_threshold >= 0.0)) throw std::invalid_argument(fmt::format("summarize: iqr_threshold = {}", iqr_threshold));
}

Summary summarize(const std::vector<double>& samples, const SummaryOptions& options) {
  options.validate();
  const std::vector<double> sorted = sorted_finite(samples, "summarize");
  const std::size_t n = sorted.size();
  const auto dn = static_cast<double>(n);

  Summary s;
  s.count = n;
  s.min = sorted.front();
  s.max = sorted.back();
  // Two passes (mean, then squared deviations from it): no cancellation for
  // latencies with a large common offset.
  double sum = 0;
  for (const double x : sorted) sum += x;
  s.mean = sum / dn;
  double squares = 0;
  for (const double x : sorted) squares += (x - s.mean) * (x - s.mean);
  s.stddev = n > 1 ? std::sqrt(squares / (dn - 1.0)) : 0.0;
  s.cv = s.mean != 0.0 ? s.stddev / std::abs(s.mean) : 0.0;

  s.p50 = percentile(sorted, 0.50);
  s.p90 = percentile(sorted, 0.90);
  s.p95 = percentile(sorted, 0.95);
  s.p99 = percentile(sorted, 0.99);
  s.p999 = percentile(sorted, 0.999);

  Rng rng(options.seed);
  std::tie(s.median_ci_lo, s.median_ci_hi) =
      percentile_interval(bootstrap_medians(sorted, options.resamples, rng), options.confidence);

  if (s.cv > options.cv_threshold) {
    s.unstable = true;
    s.notes.push_back(
        fmt::format("unstable: coefficient of variation {} exceeds {}", percent(s.cv), percent(options.cv_threshold)));
  }
  const double iqr = percentile(sorted, 0.75) - percentile(sorted, 0.25);
  if (s.p50 != 0.0 && iqr / std::abs(s.p50) > options.iqr_threshold) {
    s.unstable = true;
    s.notes.push_back(fmt::format("unstable: IQR / median {} exceeds {}", percent(iqr / std::abs(s.p50)),
                                  percent(options.iqr_threshold)));
  }

  const std::pair<const char*, double> reported[] = {
      {"p50", 0.50}, {"p90", 0.90}, {"p95", 0.95}, {"p99", 0.99}, {"p99.9", 0.999}};
  std::string unsupported;
  for (const auto& [name, q] : reported) {
    const std::size_t needed = samples_needed(q, options.percentile_confidence);
    if (n < needed) unsupported += fmt::format("{}{} (needs {})", unsupported.empty() ? "" : ", ", name, needed);
  }
  if (!unsupported.empty()) {
    s.notes.push_back(
        fmt::format("{} samples are too few for {} at {} confidence (MLPerf LoadGen early-stopping bound)", n,
                    unsupported, percent(options.percentile_confidence)));
  }
  return s;
}

void CompareOptions::validate() const {
  if (resamples < 1) throw std::invalid_argument(fmt::format("compare: resamples = {} < 1", resamples));
  check_open_unit_interval("compare: confidence", confidence);
  check_open_unit_interval("compare: alpha", alpha);
}

Comparison compare(const std::vector<double>& a, const std::vector<double>& b, const CompareOptions& options) {
  options.validate();
  const std::vector<double> sa = sorted_finite(a, "compare (a)");
  const std::vector<double> sb = sorted_finite(b, "compare (b)");
  // A ratio needs positive medians in every resample, hence positive samples.
  if (sa.front() <= 0.0 || sb.front() <= 0.0) {
    throw std::invalid_argument(fmt::format("compare: samples must be positive (smallest: a {}, b {})", sa.front(),
                                            sb.front()));
  }

  Comparison c;
  c.median_a = percentile(sa, 0.5);
  c.median_b = percentile(sb, 0.5);
  c.ratio_of_medians = c.median_b / c.median_a;

  // Independent streams for a and b, so adding samples to one does not shift the other's draws.
  const Rng rng(options.seed);
  Rng rng_a = rng.fork(1), rng_b = rng.fork(2);
  const std::vector<double> medians_a = bootstrap_medians(sa, options.resamples, rng_a);
  const std::vector<double> medians_b = bootstrap_medians(sb, options.resamples, rng_b);
  std::vector<double> ratios(medians_a.size());
  for (std::size_t i = 0; i < ratios.size(); ++i) ratios[i] = medians_b[i] / medians_a[i];
  std::tie(c.ci_lo, c.ci_hi) = percentile_interval(std::move(ratios), options.confidence);

  const MannWhitney test = mann_whitney(sa, sb);
  c.mann_whitney_u = test.u;
  c.p_value = test.p_value;
  c.significant = c.p_value < options.alpha;
  if (c.significant) {
    const bool a_ranks_lower = test.u < static_cast<double>(sa.size()) * static_cast<double>(sb.size()) / 2.0;
    // std::string temporaries: assigning a char* here trips a GCC 12 -Wrestrict false positive.
    c.faster = a_ranks_lower ? std::string("a") : std::string("b");
  }
  return c;
}

GeometricMean geometric_mean_ratio(const std::vector<std::pair<std::vector<double>, std::vector<double>>>& pairs,
                                   const CompareOptions& options) {
  options.validate();
  if (pairs.empty()) throw std::invalid_argument("geometric_mean_ratio: no comparisons");
  const auto n = static_cast<double>(pairs.size());
  GeometricMean g;
  g.count = pairs.size();
  std::vector<double> log_sum(static_cast<std::size_t>(options.resamples), 0.0);
  double point = 0;
  const Rng rng(options.seed);
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const std::vector<double> sa = sorted_finite(pairs[k].first, "geometric_mean_ratio (a)");
    const std::vector<double> sb = sorted_finite(pairs[k].second, "geometric_mean_ratio (b)");
    if (sa.front() <= 0.0 || sb.front() <= 0.0) {
      throw std::invalid_argument(fmt::format("geometric_mean_ratio: samples must be positive (pair {})", k));
    }
    point += std::log(percentile(sb, 0.5) / percentile(sa, 0.5));
    Rng rng_a = rng.fork(2 * k + 1), rng_b = rng.fork(2 * k + 2);
    const std::vector<double> ma = bootstrap_medians(sa, options.resamples, rng_a);
    const std::vector<double> mb = bootstrap_medians(sb, options.resamples, rng_b);
    for (std::size_t i = 0; i < log_sum.size(); ++i) log_sum[i] += std::log(mb[i] / ma[i]);
  }
  g.ratio = std::exp(point / n);
  std::vector<double> means(log_sum.size());
  for (std::size_t i = 0; i < means.size(); ++i) means[i] = std::exp(log_sum[i] / n);
  std::tie(g.ci_lo, g.ci_hi) = percentile_interval(std::move(means), options.confidence);
  return g;
}

double normal_two_sided_quantile(double confidence) {
  check_open_unit_interval("normal quantile: confidence", confidence);
  // erfc(z / sqrt 2) = 1 - confidence, by bisection on [0, 40] (erfc is
  // decreasing) until the bracket is as narrow as a double allows.
  const double tail = 1.0 - confidence;
  double lo = 0.0, hi = 40.0;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (std::erfc(mid / std::numbers::sqrt2) > tail ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Interval wilson_interval(std::size_t successes, std::size_t n, double confidence) {
  if (n == 0) throw std::invalid_argument("wilson_interval: n = 0 (no trials)");
  if (successes > n) throw std::invalid_argument(fmt::format("wilson_interval: {} successes of {} trials", successes, n));
  const double z = normal_two_sided_quantile(confidence);
  const auto dn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / dn;
  const double z2 = z * z;
  const double denom = 1.0 + z2 / dn;
  const double centre = (p + z2 / (2.0 * dn)) / denom;
  const double half = z / denom * std::sqrt(p * (1.0 - p) / dn + z2 / (4.0 * dn * dn));
  // At 0 (or n) successes the bound is exactly 0 (or 1): no rounding below it.
  Interval r{std::max(0.0, centre - half), std::min(1.0, centre + half)};
  if (successes == 0) r.lo = 0.0;
  if (successes == n) r.hi = 1.0;
  return r;
}

double mcnemar_exact_p(std::size_t only_a, std::size_t only_b) {
  const std::size_t n = only_a + only_b;
  if (n == 0) return 1.0;
  const std::size_t k = std::min(only_a, only_b);
  // P(X <= k) for Binomial(n, 1/2), summed in log space (n may be large).
  const double dn = static_cast<double>(n);
  const double log_half_n = -dn * std::numbers::ln2;
  double sum = 0.0;
  for (std::size_t i = 0; i <= k; ++i) {
    const auto di = static_cast<double>(i);
    sum += std::exp(std::lgamma(dn + 1.0) - std::lgamma(di + 1.0) - std::lgamma(dn - di + 1.0) + log_half_n);
  }
  return std::min(1.0, 2.0 * sum);
}

McNemar mcnemar(const std::vector<bool>& correct_a, const std::vector<bool>& correct_b) {
  if (correct_a.size() != correct_b.size()) {
    throw std::invalid_argument(
        fmt::format("mcnemar: {} and {} items (the pairs must be the same items)", correct_a.size(), correct_b.size()));
  }
  McNemar m;
  m.count = correct_a.size();
  for (std::size_t i = 0; i < m.count; ++i) {
    m.correct_a += correct_a[i];
    m.correct_b += correct_b[i];
    m.only_a += correct_a[i] && !correct_b[i];
    m.only_b += !correct_a[i] && correct_b[i];
  }
  m.p_value = mcnemar_exact_p(m.only_a, m.only_b);
  return m;
}

}  // namespace inferbench::bench
