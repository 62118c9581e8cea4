#include "bench/stats.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numbers>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/rng.h"
#include "testutil/fixtures.h"

namespace inferbench::bench {
namespace {

std::vector<double> iota_from_1(int n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 1.0);
  return v;
}

std::vector<double> normal_samples(std::size_t n, double mean, double stddev, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = rng.normal(mean, stddev);
  return v;
}

// Exponential with mean 1: median ln 2.
std::vector<double> exponential_samples(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = -std::log1p(-rng.uniform());
  return v;
}

// --- percentile: sorted[floor(n * q)] (LoadGen), q = 1 clamped to the last ---

TEST(PercentileTest, OneToHundred) {
  const auto v = iota_from_1(100);  // v[i] = i + 1
  // floor(100 q) is the index, the value is one more.
  EXPECT_EQ(percentile(v, 0.0), 1);      // index 0
  EXPECT_EQ(percentile(v, 0.5), 51);     // index 50: the upper of the two middle values
  EXPECT_EQ(percentile(v, 0.9), 91);     // index 90
  EXPECT_EQ(percentile(v, 0.95), 96);    // index 95
  EXPECT_EQ(percentile(v, 0.99), 100);   // index 99
  EXPECT_EQ(percentile(v, 0.999), 100);  // floor(99.9) = 99
  EXPECT_EQ(percentile(v, 1.0), 100);    // index 100 clamped to 99
}

TEST(PercentileTest, OneToThousand) {
  const auto v = iota_from_1(1000);
  EXPECT_EQ(percentile(v, 0.5), 501);     // index 500
  EXPECT_EQ(percentile(v, 0.9), 901);     // index 900
  EXPECT_EQ(percentile(v, 0.95), 951);    // index 950
  EXPECT_EQ(percentile(v, 0.99), 991);    // index 990
  EXPECT_EQ(percentile(v, 0.999), 1000);  // index 999
  EXPECT_EQ(percentile(v, 0.25), 251);    // index 250
}

TEST(PercentileTest, SmallCounts) {
  // n = 1: floor(q) = 0 for every q < 1, and q = 1 is clamped: always the one value.
  for (const double q : {0.0, 0.5, 0.9, 0.999, 1.0}) EXPECT_EQ(percentile({7.0}, q), 7.0) << q;
  // n = 2: floor(2 q) is 0 for q < 0.5 and 1 from q = 0.5 on.
  const std::vector<double> two = {1, 2};
  EXPECT_EQ(percentile(two, 0.0), 1);
  EXPECT_EQ(percentile(two, 0.49), 1);  // floor(0.98) = 0
  EXPECT_EQ(percentile(two, 0.5), 2);   // floor(1.0) = 1
  EXPECT_EQ(percentile(two, 0.99), 2);
  // n = 5: floor(5 q).
  const std::vector<double> five = {10, 20, 30, 40, 50};
  EXPECT_EQ(percentile(five, 0.19), 10);   // floor(0.95) = 0
  EXPECT_EQ(percentile(five, 0.2), 20);    // floor(1.0) = 1
  EXPECT_EQ(percentile(five, 0.5), 30);    // floor(2.5) = 2: the middle value
  EXPECT_EQ(percentile(five, 0.9), 50);    // floor(4.5) = 4
  EXPECT_EQ(percentile(five, 0.999), 50);  // floor(4.995) = 4
}

TEST(PercentileTest, RejectsBadArguments) {
  EXPECT_THROW(percentile({}, 0.5), std::invalid_argument);
  EXPECT_THROW(percentile({1, 2}, -0.01), std::invalid_argument);
  EXPECT_THROW(percentile({1, 2}, 1.01), std::invalid_argument);
  EXPECT_THROW(percentile({1, 2}, std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
  EXPECT_THROW(percentile({2, 1}, 0.5), std::invalid_argument);  // not sorted
}

// --- samples_needed: smallest n with q^n + n (1 - q) q^(n - 1) < 1 - confidence ---

TEST(SamplesNeededTest, LoadGenEarlyStoppingBounds) {
  // METHODOLOGY.md's figures (LoadGen early stopping, 99% confidence).
  EXPECT_EQ(samples_needed(0.90), 64u);
  EXPECT_EQ(samples_needed(0.99), 662u);
  // By hand for q = 0.5: P(at most one of n above the median) = (n + 1) / 2^n;
  // n = 10: 11 / 1024 = 0.0107 (not < 0.01); n = 11: 12 / 2048 = 0.0059.
  EXPECT_EQ(samples_needed(0.5), 11u);
  // The same formula evaluated by a short Python loop.
  EXPECT_EQ(samples_needed(0.95), 130u);
  EXPECT_EQ(samples_needed(0.999), 6636u);
  EXPECT_EQ(samples_needed(0.0), 1u);
  // A looser confidence needs fewer: q = 0.5 at 90%: n = 6 gives 7 / 64 = 0.109, n = 7 gives 8 / 128 = 0.0625.
  EXPECT_EQ(samples_needed(0.5, 0.90), 7u);
}

TEST(SamplesNeededTest, RejectsBadArguments) {
  EXPECT_THROW(samples_needed(1.0), std::invalid_argument);
  EXPECT_THROW(samples_needed(-0.1), std::invalid_argument);
  EXPECT_THROW(samples_needed(0.5, 1.0), std::invalid_argument);
  EXPECT_THROW(samples_needed(0.5, 0.0), std::invalid_argument);
}

// --- stopping rule ---

// The early-stop interval: ranks floor(n/2 - 0.98 sqrt(n)) and ceil(n/2 + 1 +
// 0.98 sqrt(n)), over the median x(floor(n/2) + 1).
TEST(MedianCiWidthTest, OrderStatisticsOfTheBinomialRanks) {
  std::vector<std::int64_t> x(100);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<std::int64_t>(100 - i);  // 100 .. 1, unsorted
  // n = 100: ranks 40 and 61 (50 -+ 9.8, +1), median x(51) = 51.
  EXPECT_DOUBLE_EQ(median_ci_width(x), 21.0 / 51.0);
  std::vector<std::int64_t> y(64);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<std::int64_t>(10 * (i + 1));
  // n = 64: ranks floor(32 - 7.84) = 24 and ceil(33 + 7.84) = 41; median x(33).
  EXPECT_DOUBLE_EQ(median_ci_width(y), (410.0 - 240.0) / 330.0);
  EXPECT_EQ(median_ci_width(std::vector<std::int64_t>(50, 7)), 0.0);  // no spread at all
  EXPECT_EQ(median_ci_width({5}), std::numeric_limits<double>::infinity());
  EXPECT_EQ(median_ci_width(std::vector<std::int64_t>(10, 0)), std::numeric_limits<double>::infinity());
  // Small n: the ranks clamp to the extremes.
  EXPECT_DOUBLE_EQ(median_ci_width({1, 2, 3}), (3.0 - 1.0) / 2.0);
}

TEST(StopRuleTest, StopsWhenBothMinimumsOrAnyMaximumAreReached) {
  const StopRule rule{.min_count = 100, .min_seconds = 10.0, .max_count = 5000, .max_seconds = 60.0};
  EXPECT_FALSE(enough(0, 0.0, rule));
  EXPECT_FALSE(enough(99, 30.0, rule));    // time reached, count not
  EXPECT_FALSE(enough(1000, 9.99, rule));  // count reached, time not
  EXPECT_TRUE(enough(100, 10.0, rule));    // both exactly reached
  EXPECT_TRUE(enough(5000, 1.0, rule));    // max count wins over the unmet time
  EXPECT_TRUE(enough(3, 60.0, rule));      // max time wins over the unmet count
}

TEST(StopRuleTest, DefaultsFollowTheMethodology) {
  const StopRule rule;
  EXPECT_EQ(rule.min_count, samples_needed(0.99));
  EXPECT_EQ(rule.min_seconds, 10.0);
  EXPECT_FALSE(enough(1'000'000, 9.0, rule));  // no maximum by default
  EXPECT_FALSE(enough(661, 1e6, rule));
  EXPECT_TRUE(enough(662, 10.0, rule));
}

// --- summarize ---

TEST(SummarizeTest, KnownSet) {
  // {2, 4, 4, 4, 5, 5, 7, 9}: sum 40, mean 5; squared deviations
  // 9 + 1 + 1 + 1 + 0 + 0 + 4 + 16 = 32; sample variance 32 / 7.
  const Summary s = summarize({9, 4, 2, 5, 4, 7, 4, 5});
  EXPECT_EQ(s.count, 8u);
  EXPECT_EQ(s.min, 2);
  EXPECT_EQ(s.max, 9);
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(32.0 / 7.0));
  EXPECT_DOUBLE_EQ(s.cv, std::sqrt(32.0 / 7.0) / 5.0);
  // Sorted 2 4 4 4 5 5 7 9: p50 index 4, p90 index floor(7.2) = 7, p95 floor(7.6) = 7.
  EXPECT_EQ(s.p50, 5);
  EXPECT_EQ(s.p90, 9);
  EXPECT_EQ(s.p95, 9);
  EXPECT_EQ(s.p99, 9);
  EXPECT_EQ(s.p999, 9);
  EXPECT_LE(s.median_ci_lo, s.p50);
  EXPECT_GE(s.median_ci_hi, s.p50);
  EXPECT_TRUE(s.unstable);  // cv 43%
}

TEST(SummarizeTest, OneSample) {
  const Summary s = summarize({3.5});
  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.min, 3.5);
  EXPECT_EQ(s.max, 3.5);
  EXPECT_EQ(s.mean, 3.5);
  EXPECT_EQ(s.stddev, 0);
  EXPECT_EQ(s.cv, 0);
  EXPECT_EQ(s.p50, 3.5);
  EXPECT_EQ(s.p999, 3.5);
  EXPECT_EQ(s.median_ci_lo, 3.5);
  EXPECT_EQ(s.median_ci_hi, 3.5);
  EXPECT_FALSE(s.unstable);
  ASSERT_EQ(s.notes.size(), 1u);
  EXPECT_EQ(s.notes[0],
            "1 samples are too few for p50 (needs 11), p90 (needs 64), p95 (needs 130), p99 (needs 662), p99.9 "
            "(needs 6636) at 99.0% confidence (MLPerf LoadGen early-stopping bound)");
}

TEST(SummarizeTest, NotesNameThePercentilesTheCountDoesNotSupport) {
  // 100 samples: enough for p50 (11) and p90 (64), not for p95 (130) and above.
  const Summary s100 = summarize(normal_samples(100, 10.0, 0.1, 1));
  ASSERT_EQ(s100.notes.size(), 1u);
  EXPECT_EQ(s100.notes[0],
            "100 samples are too few for p95 (needs 130), p99 (needs 662), p99.9 (needs 6636) at 99.0% confidence "
            "(MLPerf LoadGen early-stopping bound)");
  // 1000: only p99.9 is short.
  const Summary s1000 = summarize(normal_samples(1000, 10.0, 0.1, 2));
  ASSERT_EQ(s1000.notes.size(), 1u);
  EXPECT_NE(s1000.notes[0].find("too few for p99.9 (needs 6636) at"), std::string::npos) << s1000.notes[0];
  // 6636: nothing to note for a tight set.
  EXPECT_TRUE(summarize(normal_samples(6636, 10.0, 0.1, 3)).notes.empty());
}

TEST(SummarizeTest, UnstableOnBimodalNotOnTight) {
  std::vector<double> bimodal(100, 1.0);
  std::fill(bimodal.begin() + 50, bimodal.end(), 10.0);
  const Summary b = summarize(bimodal);
  EXPECT_TRUE(b.unstable);
  ASSERT_GE(b.notes.size(), 2u);
  // Mean 5.5, stddev 4.5 * sqrt(100 / 99) = 4.5227: cv 82.2%; IQR (10 - 1) / median 10 = 90%.
  EXPECT_EQ(b.notes[0], "unstable: coefficient of variation 82.2% exceeds 10.0%");
  EXPECT_EQ(b.notes[1], "unstable: IQR / median 90.0% exceeds 10.0%");

  const Summary t = summarize(normal_samples(1000, 10.0, 0.1, 4));  // cv about 1%
  EXPECT_FALSE(t.unstable);
  EXPECT_NEAR(t.cv, 0.01, 0.001);
  EXPECT_NEAR(t.mean, 10.0, 0.01);
}

TEST(SummarizeTest, UnstableByIqrAlone) {
  // 100 + (i - 50) / 4 for i = 0..100: uniform on [87.5, 112.5]. Sample stddev
  // 0.25 * sqrt(101 * 102 / 12) = 7.33: cv 7.3%, under 10%. n = 101: p25 index
  // floor(25.25) = 25 -> 93.75, p75 index floor(75.75) = 75 -> 106.25, median
  // 100: IQR / median 12.5%.
  std::vector<double> v;
  for (int i = 0; i <= 100; ++i) v.push_back(100.0 + (i - 50) / 4.0);
  const Summary s = summarize(v);
  EXPECT_NEAR(s.cv, 0.0733, 0.0001);
  EXPECT_TRUE(s.unstable);
  ASSERT_GE(s.notes.size(), 1u);
  EXPECT_EQ(s.notes[0], "unstable: IQR / median 12.5% exceeds 10.0%");
  // The thresholds are options.
  EXPECT_FALSE(summarize(v, {.iqr_threshold = 0.2}).unstable);
}

TEST(SummarizeTest, MedianIntervalCoversTheTrueMedianAndNarrowsWithMoreSamples) {
  const double true_median = std::numbers::ln2;
  const Summary small = summarize(exponential_samples(2001, 5));
  const Summary large = summarize(exponential_samples(20001, 6));
  for (const Summary* s : {&small, &large}) {
    EXPECT_LT(s->median_ci_lo, true_median);
    EXPECT_GT(s->median_ci_hi, true_median);
    EXPECT_LE(s->median_ci_lo, s->p50);
    EXPECT_GE(s->median_ci_hi, s->p50);
  }
  // The interval's width shrinks like 1 / sqrt(n): about sqrt(10) = 3.2 times here.
  const double w_small = small.median_ci_hi - small.median_ci_lo;
  const double w_large = large.median_ci_hi - large.median_ci_lo;
  EXPECT_LT(w_large, w_small / 2.0) << w_small << " vs " << w_large;
  // The median of an exponential sample of n has standard error about
  // 1 / (2 f(m) sqrt(n)) = 1 / sqrt(n) (density f = 1/2 at the median), so a
  // 95% interval is about 3.92 / sqrt(n) wide.
  EXPECT_NEAR(w_small, 3.92 / std::sqrt(2001.0), 0.3 * 3.92 / std::sqrt(2001.0));
}

TEST(SummarizeTest, DeterministicForASeed) {
  const auto v = exponential_samples(20001, 7);
  const Summary a = summarize(v, {.seed = 11});
  const Summary b = summarize(v, {.seed = 11});
  EXPECT_EQ(a.median_ci_lo, b.median_ci_lo);
  EXPECT_EQ(a.median_ci_hi, b.median_ci_hi);
  const Summary c = summarize(v, {.seed = 12});
  EXPECT_TRUE(a.median_ci_lo != c.median_ci_lo || a.median_ci_hi != c.median_ci_hi);
  // The order of the samples does not matter.
  auto reversed = v;
  std::reverse(reversed.begin(), reversed.end());
  const Summary r = summarize(reversed, {.seed = 11});
  EXPECT_EQ(r.median_ci_lo, a.median_ci_lo);
  EXPECT_EQ(r.median_ci_hi, a.median_ci_hi);
}

TEST(SummarizeTest, RejectsBadInput) {
  EXPECT_THROW(summarize({}), std::invalid_argument);
  EXPECT_THROW(summarize({1.0, std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
  EXPECT_THROW(summarize({1.0, std::numeric_limits<double>::infinity()}), std::invalid_argument);
  EXPECT_THROW(summarize({1.0}, {.resamples = 0}), std::invalid_argument);
  EXPECT_THROW(summarize({1.0}, {.confidence = 1.0}), std::invalid_argument);
  EXPECT_THROW(summarize({1.0}, {.cv_threshold = -1}), std::invalid_argument);
}

// --- geometric mean of ratios across comparisons ---

TEST(GeometricMeanRatio, CancelsReciprocalRatiosAndMatchesCompareForOnePair) {
  const std::vector<double> one(50, 1.0), two(50, 2.0), half(50, 0.5);
  const GeometricMean g = geometric_mean_ratio({{one, two}, {one, half}});
  EXPECT_DOUBLE_EQ(g.ratio, 1.0);  // 2x and 0.5x cancel (their arithmetic mean would be 1.25)
  EXPECT_DOUBLE_EQ(g.ci_lo, 1.0);  // constant samples: every resample gives the same
  EXPECT_DOUBLE_EQ(g.ci_hi, 1.0);
  EXPECT_EQ(g.count, 2U);
  EXPECT_NEAR(geometric_mean_ratio({{one, two}, {one, std::vector<double>(50, 8.0)}}).ratio, 4.0, 1e-12);
  // One pair: the same point and interval as compare() (same seed, same streams).
  std::vector<double> a, b;
  Rng rng(5);
  for (int i = 0; i < 200; ++i) {
    a.push_back(1.0 + rng.uniform());
    b.push_back(2.0 + rng.uniform());
  }
  const GeometricMean single = geometric_mean_ratio({{a, b}});
  const Comparison c = compare(a, b);
  EXPECT_NEAR(single.ratio, c.ratio_of_medians, 1e-12);
  EXPECT_NEAR(single.ci_lo, c.ci_lo, 1e-12);
  EXPECT_NEAR(single.ci_hi, c.ci_hi, 1e-12);
  EXPECT_LT(single.ci_lo, single.ratio);
  EXPECT_GT(single.ci_hi, single.ratio);
  EXPECT_THROW((void)geometric_mean_ratio({}), std::invalid_argument);
  EXPECT_THROW((void)geometric_mean_ratio({{a, {0.0, 1.0}}}), std::invalid_argument);
}

// --- compare ---

TEST(CompareTest, IdenticalSetsAreNotSignificant) {
  const auto v = exponential_samples(500, 8);
  const Comparison c = compare(v, v);
  // Every value tied once across the sets: U = (n^2 - n) / 2 + n / 2 = n^2 / 2, its mean.
  EXPECT_EQ(c.mann_whitney_u, 500.0 * 500.0 / 2.0);
  EXPECT_EQ(c.p_value, 1.0);
  EXPECT_FALSE(c.significant);
  EXPECT_EQ(c.faster, "neither");
  EXPECT_EQ(c.ratio_of_medians, 1.0);
  EXPECT_LT(c.ci_lo, 1.0);
  EXPECT_GT(c.ci_hi, 1.0);
}

TEST(CompareTest, ShiftedSetsAreSignificantAndTheFasterSideIsNamed) {
  const auto slow = normal_samples(300, 10.0, 0.5, 9);
  const auto fast = normal_samples(300, 8.0, 0.5, 10);
  const Comparison c = compare(slow, fast);
  EXPECT_TRUE(c.significant);
  EXPECT_LT(c.p_value, 1e-10);
  EXPECT_EQ(c.faster, "b");
  EXPECT_NEAR(c.ratio_of_medians, 0.8, 0.02);
  EXPECT_LT(c.ci_hi, 1.0);  // the interval excludes 1
  EXPECT_LE(c.ci_lo, c.ratio_of_medians);
  EXPECT_GE(c.ci_hi, c.ratio_of_medians);

  const Comparison r = compare(fast, slow);
  EXPECT_TRUE(r.significant);
  EXPECT_EQ(r.faster, "a");
  EXPECT_GT(r.ci_lo, 1.0);
  EXPECT_DOUBLE_EQ(r.mann_whitney_u, 300.0 * 300.0 - c.mann_whitney_u);
  EXPECT_DOUBLE_EQ(r.p_value, c.p_value);
}

TEST(CompareTest, MannWhitneyReferenceValues) {
  // scipy.stats.mannwhitneyu docs example (method="asymptotic", continuity
  // correction): males vs females, U1 = 17, p = 0.11134688653314041. By hand:
  // pairs (a, b) with a > b: 19 -> 3, 22 -> 4, 16 -> 2, 29 -> 4, 24 -> 4 = 17.
  const Comparison docs = compare({19, 22, 16, 29, 24}, {20, 11, 17, 12});
  EXPECT_EQ(docs.mann_whitney_u, 17);
  EXPECT_NEAR(docs.p_value, 0.11134688653314041, 1e-12);
  EXPECT_FALSE(docs.significant);
  EXPECT_EQ(docs.faster, "neither");
  // R wilcox.test(exact = FALSE, correct = TRUE), as quoted by Apache Commons
  // Statistics' MannWhitneyUTest tests.
  const Comparison r1 = compare({2, 4, 6, 8, 10, 12, 14, 15, 16, 17, 18}, {1, 3, 5, 7, 9, 11, 13, 19, 20});
  EXPECT_EQ(r1.mann_whitney_u, 56);
  EXPECT_NEAR(r1.p_value, 0.648503379652976, 1e-12);
  // The second set there starts at -3; both shifted by +10 (ranks unchanged) to keep the values positive.
  std::vector<double> x = {2, 4, 6, 8, 10, 12, 14, 16, 18}, y = {-3, -1, 1, 3, 5, 7, 9, 11};
  for (double& v : x) v += 10;
  for (double& v : y) v += 10;
  const Comparison r2 = compare(x, y);
  EXPECT_EQ(r2.mann_whitney_u, 57);
  EXPECT_NEAR(r2.p_value, 0.048539622897320618, 1e-12);
  EXPECT_TRUE(r2.significant);  // p < 0.05
  EXPECT_EQ(r2.faster, "b");    // U = 57 > 9 * 8 / 2 = 36: x ranks higher
  EXPECT_FALSE(compare(x, y, {.alpha = 0.01}).significant);
}

TEST(CompareTest, MannWhitneyWithTiesByHand) {
  // a = {1, 2, 2, 5}, b = {2, 3, 4}. Pooled and sorted: 1a 2a 2a 2b 3b 4b 5a;
  // the three 2s share ranks 2, 3, 4 -> midrank 3. Rank sum of a = 1 + 3 + 3 + 7
  // = 14, U = 14 - 4 * 5 / 2 = 4 (pairs: 1 -> 0, each 2 -> 1/2 (tie with b's 2), 5 -> 3).
  // mean 4 * 3 / 2 = 6; tie term 3^3 - 3 = 24; variance 12 / 12 * (8 - 24 / (7 * 6))
  // = 7.4286; z = (|4 - 6| - 0.5) / sqrt(7.4286) = 0.55035; p = erfc(z / sqrt 2)
  // = 0.5820796519295022 (Python's math.erfc). Without the tie correction
  // (variance 8) p would be 0.5959.
  const Comparison c = compare({1, 2, 2, 5}, {2, 3, 4});
  EXPECT_EQ(c.mann_whitney_u, 4);
  EXPECT_NEAR(c.p_value, 0.5820796519295022, 1e-12);
  // {1, 1, 2} vs {1, 2, 2}: U = (1/2 + 1/2) + (1 + 1/2 + 1/2) = 3, mean 4.5; ties
  // 1 x3 and 2 x3: variance 9 / 12 * (7 - 48 / 30) = 4.05; z = 1 / sqrt(4.05);
  // p = 0.6192567541768621.
  const Comparison d = compare({1, 1, 2}, {1, 2, 2});
  EXPECT_EQ(d.mann_whitney_u, 3);
  EXPECT_NEAR(d.p_value, 0.6192567541768621, 1e-12);
  // Every value tied: no variance, no evidence.
  const Comparison e = compare({5, 5, 5}, {5, 5});
  EXPECT_EQ(e.mann_whitney_u, 3);
  EXPECT_EQ(e.p_value, 1.0);
  EXPECT_FALSE(e.significant);
}

TEST(CompareTest, DeterministicForASeed) {
  const auto a = exponential_samples(1001, 12), b = exponential_samples(1001, 13);
  const Comparison x = compare(a, b, {.seed = 3});
  const Comparison y = compare(a, b, {.seed = 3});
  EXPECT_EQ(x.ci_lo, y.ci_lo);
  EXPECT_EQ(x.ci_hi, y.ci_hi);
}

TEST(CompareTest, RejectsBadInput) {
  EXPECT_THROW(compare({}, {1.0}), std::invalid_argument);
  EXPECT_THROW(compare({1.0}, {}), std::invalid_argument);
  EXPECT_THROW(compare({1.0, 0.0}, {1.0}), std::invalid_argument);  // a ratio needs positive values
  EXPECT_THROW(compare({1.0}, {std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
  EXPECT_THROW(compare({1.0}, {1.0}, {.alpha = 0.0}), std::invalid_argument);
}

// Cross-check against scipy where this machine has it (python3-scipy is not a
// build dependency): data sets with many ties (values rounded to a coarse grid).
TEST(CompareTest, MatchesScipyWhenAvailable) {
  if (std::system("/usr/bin/python3 -c 'import scipy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 with scipy not available";
  }
  testutil::TempDir dir;
  std::vector<std::pair<std::vector<double>, std::vector<double>>> cases;
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    auto a = normal_samples(40 + 30 * seed, 10.0, 1.0, 100 + seed);
    auto b = normal_samples(50 + 20 * seed, 10.0 + 0.2 * static_cast<double>(seed), 1.0, 200 + seed);
    for (double& v : a) v = std::round(v * 2) / 2;  // ties
    for (double& v : b) v = std::round(v * 2) / 2;
    cases.emplace_back(a, b);
  }
  std::string data;
  for (const auto& [a, b] : cases) {
    for (const auto* set : {&a, &b}) {
      for (const double v : *set) data += fmt::format("{} ", v);  // shortest round-trip form
      data += "\n";
    }
  }
  testutil::write_text(dir / "data.txt", data);
  testutil::write_text(dir / "mwu.py",
                       "import sys\n"
                       "from scipy.stats import mannwhitneyu\n"
                       "lines = open(sys.argv[1]).read().split('\\n')\n"
                       "for i in range(0, len(lines) - 1, 2):\n"
                       "    a = [float(v) for v in lines[i].split()]\n"
                       "    b = [float(v) for v in lines[i + 1].split()]\n"
                       "    r = mannwhitneyu(a, b, method='asymptotic', use_continuity=True)\n"
                       "    print(repr(float(r.statistic)), repr(float(r.pvalue)))\n");
  const std::string command =
      fmt::format("/usr/bin/python3 {} {}", (dir / "mwu.py").string(), (dir / "data.txt").string());
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  ASSERT_EQ(pclose(pipe), 0) << out;
  std::istringstream lines(out);
  for (const auto& [a, b] : cases) {
    double u = 0, p = 0;
    ASSERT_TRUE(lines >> u >> p) << out;
    const Comparison c = compare(a, b);
    EXPECT_EQ(c.mann_whitney_u, u);
    EXPECT_NEAR(c.p_value, p, 1e-12);
  }
}

// ---- Accuracy statistics. Reference values: statsmodels'
// proportion_confint(method="wilson") and scipy's binomtest(k, n, 0.5), here
// recomputed exactly (Python: statistics.NormalDist, fractions and math.comb).

TEST(WilsonInterval, MatchesTheReferenceValues) {
  EXPECT_NEAR(normal_two_sided_quantile(0.95), 1.9599639845400536, 1e-12);
  EXPECT_NEAR(normal_two_sided_quantile(0.99), 2.5758293035489, 1e-12);
  const Interval a = wilson_interval(8, 10);
  EXPECT_NEAR(a.lo, 0.49016247153664183, 1e-12);
  EXPECT_NEAR(a.hi, 0.9433178485456247, 1e-12);
  const Interval b = wilson_interval(855, 1000);
  EXPECT_NEAR(b.lo, 0.8318179377037748, 1e-12);
  EXPECT_NEAR(b.hi, 0.875465063771481, 1e-12);
  const Interval c = wilson_interval(8, 10, 0.99);
  EXPECT_NEAR(c.lo, 0.4008186965216717, 1e-12);
  EXPECT_NEAR(c.hi, 0.9598688474953835, 1e-12);
}

TEST(WilsonInterval, StaysInsideTheUnitIntervalAndIsNotEmptyAtTheEnds) {
  const Interval none = wilson_interval(0, 10);
  EXPECT_EQ(none.lo, 0.0);
  EXPECT_NEAR(none.hi, 0.27753279986288915, 1e-12);
  const Interval all = wilson_interval(10, 10);
  EXPECT_NEAR(all.lo, 0.7224672001371109, 1e-12);
  EXPECT_EQ(all.hi, 1.0);
  const Interval one = wilson_interval(1, 1);
  EXPECT_NEAR(one.lo, 0.20654931437723745, 1e-12);
  EXPECT_EQ(one.hi, 1.0);
  // More images, a narrower interval around the same proportion.
  const Interval small = wilson_interval(17, 20), large = wilson_interval(1700, 2000);
  EXPECT_LT(large.hi - large.lo, (small.hi - small.lo) / 5);
  EXPECT_LT(large.lo, 0.85);
  EXPECT_GT(large.hi, 0.85);
}

TEST(WilsonInterval, RejectsImpossibleCounts) {
  EXPECT_THROW((void)wilson_interval(0, 0), std::invalid_argument);
  EXPECT_THROW((void)wilson_interval(11, 10), std::invalid_argument);
  EXPECT_THROW((void)wilson_interval(5, 10, 1.0), std::invalid_argument);
  EXPECT_THROW((void)wilson_interval(5, 10, 0.0), std::invalid_argument);
  EXPECT_THROW((void)normal_two_sided_quantile(std::nan("")), std::invalid_argument);
}

TEST(McNemar, ExactPValueMatchesTheBinomialTest) {
  EXPECT_EQ(mcnemar_exact_p(0, 0), 1.0);
  EXPECT_EQ(mcnemar_exact_p(1, 0), 1.0);
  EXPECT_EQ(mcnemar_exact_p(3, 3), 1.0);
  EXPECT_NEAR(mcnemar_exact_p(5, 0), 0.0625, 1e-15);
  EXPECT_NEAR(mcnemar_exact_p(0, 6), 0.03125, 1e-15);
  EXPECT_NEAR(mcnemar_exact_p(10, 2), 0.03857421875, 1e-14);
  EXPECT_EQ(mcnemar_exact_p(10, 2), mcnemar_exact_p(2, 10));  // two-sided: symmetric
  EXPECT_NEAR(mcnemar_exact_p(50, 70), 0.08240747932752655, 1e-12);
  EXPECT_NEAR(mcnemar_exact_p(400, 460), 0.04416954819458901, 1e-12);
}

TEST(McNemar, CountsTheDiscordantPairsOfTheSameItems) {
  //                         items: 0     1      2      3     4      5
  const std::vector<bool> a{true, true, false, true, false, true};
  const std::vector<bool> b{true, false, false, false, true, true};
  const McNemar m = mcnemar(a, b);
  EXPECT_EQ(m.count, 6U);
  EXPECT_EQ(m.correct_a, 4U);
  EXPECT_EQ(m.correct_b, 3U);
  EXPECT_EQ(m.only_a, 2U);  // items 1 and 3
  EXPECT_EQ(m.only_b, 1U);  // item 4
  EXPECT_EQ(m.p_value, mcnemar_exact_p(2, 1));
  // Agreement on every item is no evidence of a difference, whatever the accuracy.
  EXPECT_EQ(mcnemar(a, a).p_value, 1.0);
  EXPECT_THROW((void)mcnemar(a, {true}), std::invalid_argument);
}

}  // namespace
}  // namespace inferbench::bench
