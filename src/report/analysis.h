#pragma once
// What the report computes from a study's runs, apart from how it is drawn:
// box statistics of raw samples, the accuracy-versus-latency Pareto front,
// speed-ups against the baseline backend with confidence intervals, and the
// per-model summary. Pure functions over results::RunRecord, tested on their
// own (tests/report/report_test.cpp).
//
// Units: latencies in milliseconds (as the bench runner records them), top-1
// and agreement as fractions in [0, 1], throughput in images per second.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/stats.h"
#include "results/store.h"

namespace inferbench::report {

// A Tukey box plot of raw samples. The quartiles use bench::percentile, the
// rule every percentile inferbench reports follows (LoadGen's sorted[floor(n
// q)], no interpolation): q1 = sorted[floor(n / 4)], median =
// sorted[floor(n / 2)], q3 = sorted[floor(3 n / 4)]. The whiskers end at the
// most extreme samples within 1.5 IQR of the box; samples beyond them are
// outliers.
struct BoxStats {
  std::size_t count = 0;
  double min = 0, q1 = 0, median = 0, q3 = 0, max = 0;
  double whisker_lo = 0, whisker_hi = 0;
  // Ascending. At most max_outliers of them, evenly spaced through the sorted
  // outliers and always including the most extreme two, so a long tail keeps
  // its shape without making the HTML large; outlier_count counts them all.
  std::vector<double> outliers;
  std::size_t outlier_count = 0;
};
// std::invalid_argument when `samples` is empty or holds a NaN or infinity.
BoxStats box_stats(std::vector<double> samples, std::size_t max_outliers = 60);

// One choice on the accuracy-versus-latency plane.
struct TradeOff {
  double latency_ms = 0;
  double top1 = 0;
};
// Which points are Pareto-optimal when lower latency and higher top-1 are
// both better: a point is on the front unless another one is at least as fast
// and at least as accurate, and strictly better in one of the two. Equal
// points are all on the front (neither dominates the other).
std::vector<bool> pareto_front(const std::vector<TradeOff>& points);

// A speed-up against the baseline: how many times faster `samples` are.
struct SpeedUp {
  double speedup = 0;           // baseline median / this median (> 1: faster than the baseline)
  double ci_lo = 0, ci_hi = 0;  // 95% interval, from bench::compare's interval of the ratio of medians
  double p_value = 1;           // Mann-Whitney, two-sided
  bool significant = false;
  double baseline_median = 0, median = 0;
};
// bench::compare(baseline, samples) gives median(samples) / median(baseline)
// with its bootstrap interval [lo, hi]; the speed-up is its reciprocal, with
// the interval [1 / hi, 1 / lo] (the reciprocal is monotone, so it maps the
// interval's ends onto each other). Throws as bench::compare does.
SpeedUp speed_up(const std::vector<double>& baseline, const std::vector<double>& samples,
                 const bench::CompareOptions& options = {});

// Figures a run carries in Result::summary (verify's accuracy and parity,
// the artifact's size); nullopt when absent.
std::optional<double> verify_figure(const results::RunRecord& run, const char* key);  // "top1", "agreement", ...
// The 95% Wilson interval (bench::wilson_interval) of the run's verify top-1
// on the images verified (summary verify.count); nullopt without a top-1 or a
// count (results recorded before verify kept the count).
std::optional<bench::Interval> top1_interval(const results::RunRecord& run);
// The precision the runtime says it executed ("int8", "bf16", "mixed", ...):
// the run's own worker's answer, else verify's for the same artifact and
// backend; nullopt when neither asked (runs recorded before they did).
std::optional<std::string> executed_precision(const results::RunRecord& run);
// verify's accuracy flag ("top-1 2.00 points below the reference (more than
// 1.00)"), when the variant lost more than the threshold; nullopt otherwise.
std::optional<std::string> accuracy_flag(const results::RunRecord& run);
// The artifact's precision and, when the runtime executed another (FP16
// weights computed in FP32, a BF16 hint on FP32 weights), what it ran:
// "fp32", "fp16 (ran fp32)".
std::string precision_label(const results::RunRecord& run);
std::optional<double> model_file_mib(const results::RunRecord& run);
std::optional<double> peak_rss_mib(const results::RunRecord& run);
// Cold-start: medians over the fresh workers of load and first inference, in
// ms (summary's load_seconds / first_inference_seconds, else load_s /
// first_inference_s).
std::optional<double> cold_load_ms(const results::RunRecord& run);
std::optional<double> cold_first_inference_ms(const results::RunRecord& run);
// The number of fresh workers behind a cold-start run.
std::size_t cold_runs(const results::RunRecord& run);

// One run and what the report derives from it.
struct Row {
  results::RunRecord run;
  // Result::model, or "(unknown model)" when the run recorded none.
  std::string model;
  // "backend artifact", plus " t=N" when the study ran several thread counts.
  std::string label;
  bool is_baseline = false;
  // Against the baseline run of the same model, scenario, batch and threads
  // (not for cold-start, nor for the baseline itself, nor without one).
  std::optional<SpeedUp> speedup;
  [[nodiscard]] bool ok() const { return run.status == results::RunStatus::kOk; }
};

// A study, ready to render.
struct StudyView {
  results::Study study;
  std::string baseline;             // the baseline backend's name
  std::vector<Row> rows;            // in the order the runs were recorded
  std::vector<std::string> models;  // in first-seen order
};

// Reads the study's runs. with_speedups = false skips the bootstraps (the
// terminal summary does not need them). std::invalid_argument for an unknown
// study id.
StudyView build_view(results::Store& store, std::int64_t study_id, const std::string& baseline,
                     bool with_speedups = true);

// The per-model summary. Pointers into view.rows (null when there is none);
// valid while the view lives.
struct ModelSummary {
  std::string model;
  const Row* fastest = nullptr;           // single-stream, lowest median
  const Row* highest = nullptr;           // highest images/s in any scenario but cold-start
  const Row* baseline_fastest = nullptr;  // the same two, among the baseline's runs
  const Row* baseline_highest = nullptr;
};
std::vector<ModelSummary> model_summaries(const StudyView& view);

// The environment shown in the report: the first successful run's (else the
// first run's), or an empty object.
const nlohmann::json& study_environment(const StudyView& view);

}  // namespace inferbench::report
