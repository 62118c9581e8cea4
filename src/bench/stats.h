#pragma once
// The statistics of `inferbench bench` and `inferbench compare`: one tested
// module, as /work/shared/METHODOLOGY.md asks ("Percentiles", "Stopping",
// "Stability").
//
// Contract: every function is pure and deterministic (the bootstraps draw from
// inferbench::Rng seeded by the options, so the same samples and seed give
// the same numbers on every build). Wrong arguments (empty samples, a NaN or
// infinite sample, q outside [0, 1], an option out of range) are programmer
// errors and throw std::invalid_argument. Units are the caller's: the
// functions never assume seconds or milliseconds, except `enough`'s elapsed_s.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace inferbench::bench {

// The q-quantile of `sorted` (ascending) by MLPerf LoadGen's rule: the sample
// at index floor(n * q), no interpolation. Source: mlcommons/inference,
// loadgen/results.cc, PerformanceSummary::ProcessLatencies():
//   lp.sample_latency = pr.sample_latencies[sample_count * lp.percentile];
// (the double n * q truncated to an index). For n = 100: p50 = sorted[50]
// (the 51st value, the upper median), p90 = sorted[90], p99 = sorted[99].
// Like LoadGen the product is computed in double, so a q that has no exact
// binary form can land one index low (100 * 0.29 = 28.999...); for the
// quantiles used here (0.5, 0.9, 0.95, 0.99, 0.999, 0.025, 0.975) the result
// equals the exact floor(n * q) for every n up to 300000 (checked).
// LoadGen requires q < 1; here q = 1 gives the last sample (the maximum).
// Throws std::invalid_argument when `sorted` is empty or not ascending, or q
// is outside [0, 1] (or NaN).
double percentile(const std::vector<double>& sorted, double q);

// The fewest samples for which the q-quantile is meaningful: MLPerf LoadGen's
// early-stopping bound with one sample allowed above the quantile, i.e. the
// smallest n with P(at most 1 of n samples exceeds the true q-quantile) <
// 1 - confidence, where that count is Binomial(n, 1 - q):
//   q^n + n (1 - q) q^(n - 1) < 1 - confidence.
// Source: loadgen/early_stopping.cc (odds(h, t = 1, p, d = 0) < 1 - c) and
// loadgen/results.cc ("Need to process at least h_min + 1 queries").
// At 99% confidence: p50 11, p90 64, p95 130, p99 662, p99.9 6636 (the 64 and
// 662 are METHODOLOGY.md's figures). q = 0 (the minimum) needs 1 sample.
// Throws std::invalid_argument for q outside [0, 1) (no finite count makes
// the maximum a meaningful estimate) or confidence outside (0, 1).
std::size_t samples_needed(double q, double confidence = 0.99);

// When a measurement loop may stop. Defaults follow METHODOLOGY.md
// ("Stopping"): at least 10 s and at least the count p99 needs.
struct StopRule {
  std::size_t min_count = 662;  // samples_needed(0.99)
  double min_seconds = 10.0;
  std::size_t max_count = std::numeric_limits<std::size_t>::max();  // max(): no limit
  double max_seconds = std::numeric_limits<double>::infinity();     // infinity: no limit
  // Early stopping on precision (off at 0): the loop may also stop, before
  // the minimums, once it has ci_min_count samples and the median's 95%
  // interval (median_ci_width below) is at most ci_target of the median, e.g.
  // 0.02 = the median known to about +-1%. ci_min_count's default is what p90
  // needs at 99% confidence (samples_needed(0.90) = 64), so p50 and p90 stay
  // supported; p99 then usually is not, and the summary says so.
  double ci_target = 0;
  std::size_t ci_min_count = 64;
};

// True when the loop should stop: both minimums are reached, or either
// maximum is (a maximum wins over an unmet minimum; the summary then notes
// the percentiles the count does not support).
bool enough(std::size_t count, double elapsed_s, const StopRule& rule);

// The width of the distribution-free 95% interval of the median, over the
// median: with n samples sorted, x(j) to x(k) (1-based order statistics),
// j = floor(n/2 - 0.98 sqrt(n)), k = ceil(n/2 + 1 + 0.98 sqrt(n)) clamped to
// [1, n] (the normal approximation of the binomial ranks; 0.98 = 1.96 / 2),
// over the median x(floor(n/2) + 1), the p50 a summary reports.
// O(n) (nth_element on a copy), cheap enough to ask every few samples;
// infinity for fewer than 2 samples or a median of 0. This is the early-stop
// test only: the interval a summary reports is the bootstrap's.
double median_ci_width(const std::vector<std::int64_t>& samples);

struct SummaryOptions {
  int resamples = 2000;      // bootstrap resamples for the median's interval
  std::uint64_t seed = 42;   // for the bootstrap
  double confidence = 0.95;  // of the median's interval
  // METHODOLOGY.md ("Stability"): flag a result whose coefficient of
  // variation exceeds 10% or whose IQR / median exceeds 10%.
  double cv_threshold = 0.10;
  double iqr_threshold = 0.10;
  // The confidence samples_needed() uses for the "too few samples" note.
  double percentile_confidence = 0.99;

  void validate() const;  // throws std::invalid_argument naming the bad value
};

struct Summary {
  std::size_t count = 0;
  double min = 0, max = 0;
  double mean = 0;
  double stddev = 0;                                    // sample standard deviation (divides by n - 1); 0 when n = 1
  double cv = 0;                                        // stddev / |mean|; 0 when the mean is 0
  double p50 = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0;  // by percentile()
  // Percentile bootstrap interval of the median (p50 by the same rule): the
  // (1 - confidence) / 2 and (1 + confidence) / 2 quantiles, by percentile(),
  // of the medians of `resamples` resamples with replacement.
  double median_ci_lo = 0, median_ci_hi = 0;
  bool unstable = false;           // cv or IQR / median above its threshold
  std::vector<std::string> notes;  // why unstable; percentiles the count does not support
};

// Summarises raw samples (any order). Cost: O(n log n) plus O(resamples * n)
// for the bootstrap (about a second for 100k samples and 2000 resamples).
// Throws std::invalid_argument when `samples` is empty or holds a NaN or an
// infinity, or the options are out of range.
Summary summarize(const std::vector<double>& samples, const SummaryOptions& options = {});

struct CompareOptions {
  int resamples = 2000;      // bootstrap resamples for the ratio's interval
  std::uint64_t seed = 42;   // for the bootstrap
  double confidence = 0.95;  // of the ratio's interval
  double alpha = 0.05;       // significance level of the Mann-Whitney test

  void validate() const;  // throws std::invalid_argument naming the bad value
};

struct Comparison {
  double median_a = 0, median_b = 0;  // p50 by percentile()
  double ratio_of_medians = 0;        // median_b / median_a (< 1: b is lower, i.e. faster for latencies)
  // Percentile bootstrap interval of the ratio: a and b resampled
  // independently, `resamples` ratios of their medians.
  double ci_lo = 0, ci_hi = 0;
  // Mann-Whitney U of sample a: the number of pairs (a_i, b_j) with a_i > b_j,
  // ties counting 1/2 (scipy.stats.mannwhitneyu's statistic for x = a).
  double mann_whitney_u = 0;
  // Two-sided, normal approximation with the tie correction of the variance
  // and a continuity correction of 1/2 (scipy's method="asymptotic" and R's
  // wilcox.test(exact = FALSE, correct = TRUE)); 1 when every value is tied.
  double p_value = 1;
  bool significant = false;  // p_value < alpha
  // The side whose values are stochastically lower by the test (U below its
  // mean n_a n_b / 2 means a's values rank lower), when significant; else "neither".
  std::string faster = "neither";
};

// Compares two sets of samples (any order) of positive values, e.g. latencies
// of configuration A and B. Throws std::invalid_argument when either set is
// empty or holds a value that is not finite and positive, or the options are
// out of range.
Comparison compare(const std::vector<double>& a, const std::vector<double>& b, const CompareOptions& options = {});

// The geometric mean over several comparisons (one per model) of their ratios
// of medians B/A, e.g. an INT8-over-FP32 speed-up summarised across models:
// exp(mean(log(ratio_i))), the mean that treats a 2x and a 0.5x as
// cancelling (an arithmetic mean of ratios would not). Its interval is a
// percentile bootstrap: each resample redraws every pair's a and b
// independently (as compare() does, same seed and streams per pair index) and
// takes the geometric mean of the resampled ratios. Throws
// std::invalid_argument when `pairs` is empty or a set is as compare() refuses.
struct GeometricMean {
  double ratio = 0;            // geometric mean of median_b / median_a
  double ci_lo = 0, ci_hi = 0;
  std::size_t count = 0;       // comparisons summarised
};
GeometricMean geometric_mean_ratio(const std::vector<std::pair<std::vector<double>, std::vector<double>>>& pairs,
                                   const CompareOptions& options = {});

// ---- Accuracy: proportions of a test split, and paired differences.

// An interval [lo, hi] within [0, 1].
struct Interval {
  double lo = 0, hi = 0;
};

// The Wilson score interval of a proportion: `successes` of `n` trials (top-1
// accuracy: images classified right of the images verified), at `confidence`.
// With z the two-sided normal quantile (1.959964 at 95%) and p = successes / n:
//   centre = (p + z^2 / 2n) / (1 + z^2 / n),
//   half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2),
// clamped to [0, 1]; unlike the normal ("Wald") interval it stays inside
// [0, 1] and is not empty at 0 or n successes. Source: Wilson (1927), as
// statsmodels.stats.proportion.proportion_confint(method="wilson").
// Throws std::invalid_argument when n = 0, successes > n, or confidence is
// outside (0, 1).
Interval wilson_interval(std::size_t successes, std::size_t n, double confidence = 0.95);

// The two-sided normal quantile z with P(|Z| <= z) = confidence (1.959964 at
// 0.95). Throws std::invalid_argument for confidence outside (0, 1).
double normal_two_sided_quantile(double confidence);

// McNemar's exact test of two classifiers on the same items: of the pairs
// where exactly one is right, only_a are right for a only and only_b for b
// only; under "equally accurate" each discordant pair is a fair coin, so
//   p = min(1, 2 P(X <= min(only_a, only_b))),  X ~ Binomial(only_a + only_b, 1/2)
// (scipy.stats.binomtest(min, n, 0.5).pvalue; statsmodels' mcnemar(exact=True));
// 1 when there are no discordant pairs.
double mcnemar_exact_p(std::size_t only_a, std::size_t only_b);

struct McNemar {
  std::size_t count = 0;               // paired items
  std::size_t correct_a = 0, correct_b = 0;
  std::size_t only_a = 0, only_b = 0;  // discordant pairs: right for a only, for b only
  double p_value = 1;                  // mcnemar_exact_p(only_a, only_b)
};
// Per-item correctness of a and b on the same items, in the same order.
// Throws std::invalid_argument when the sizes differ.
McNemar mcnemar(const std::vector<bool>& correct_a, const std::vector<bool>& correct_b);

}  // namespace inferbench::bench
