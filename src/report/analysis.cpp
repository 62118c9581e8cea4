#include "report/analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

namespace inferbench::report {

namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return bench::percentile(v, 0.5);
}

std::optional<double> number_at(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// Median (in ms) of a summary array in seconds, if the run has one.
std::optional<double> median_ms_of(const results::RunRecord& run, const char* key) {
  const auto it = run.result.summary.find(key);
  if (it == run.result.summary.end() || !it->is_array() || it->empty()) return std::nullopt;
  std::vector<double> v;
  for (const auto& x : *it) {
    if (x.is_number() && std::isfinite(x.get<double>())) v.push_back(x.get<double>());
  }
  if (v.empty()) return std::nullopt;
  return 1e3 * median_of(std::move(v));
}

// Runs that may be compared share these (the backend and artifact are what differs).
std::string match_key(const results::Result& r) {
  return fmt::format("{}\x1f{}\x1f{}\x1f{}", r.model, r.scenario, r.batch, r.threads);
}

}  // namespace

BoxStats box_stats(std::vector<double> samples, std::size_t max_outliers) {
  for (double s : samples) {
    if (!std::isfinite(s)) throw std::invalid_argument("box_stats: a sample is NaN or infinite");
  }
  std::sort(samples.begin(), samples.end());
  BoxStats b;
  b.count = samples.size();
  b.q1 = bench::percentile(samples, 0.25);  // throws on empty
  b.median = bench::percentile(samples, 0.5);
  b.q3 = bench::percentile(samples, 0.75);
  b.min = samples.front();
  b.max = samples.back();
  const double reach = 1.5 * (b.q3 - b.q1);
  const auto lo = std::lower_bound(samples.begin(), samples.end(), b.q1 - reach);
  const auto hi = std::upper_bound(samples.begin(), samples.end(), b.q3 + reach);
  // The box's own ends are samples, so both whiskers exist.
  b.whisker_lo = *lo;
  b.whisker_hi = *(hi - 1);
  std::vector<double> out(samples.begin(), lo);
  out.insert(out.end(), hi, samples.end());
  b.outlier_count = out.size();
  if (out.size() <= max_outliers) {
    b.outliers = std::move(out);
  } else if (max_outliers == 1) {
    b.outliers = {out.back()};
  } else if (max_outliers > 1) {
    const double step = static_cast<double>(out.size() - 1) / static_cast<double>(max_outliers - 1);
    for (std::size_t i = 0; i < max_outliers; ++i) {
      b.outliers.push_back(out[static_cast<std::size_t>(std::lround(step * static_cast<double>(i)))]);
    }
  }
  return b;
}

std::vector<bool> pareto_front(const std::vector<TradeOff>& points) {
  std::vector<bool> on(points.size(), true);
  for (std::size_t i = 0; i < points.size(); ++i) {
    for (std::size_t j = 0; j < points.size() && on[i]; ++j) {
      const TradeOff& a = points[j];
      const TradeOff& b = points[i];
      const bool at_least = a.latency_ms <= b.latency_ms && a.top1 >= b.top1;
      const bool better = a.latency_ms < b.latency_ms || a.top1 > b.top1;
      if (j != i && at_least && better) on[i] = false;
    }
  }
  return on;
}

SpeedUp speed_up(const std::vector<double>& baseline, const std::vector<double>& samples,
                 const bench::CompareOptions& options) {
  const bench::Comparison c = bench::compare(baseline, samples, options);
  SpeedUp s;
  s.speedup = 1.0 / c.ratio_of_medians;
  s.ci_lo = 1.0 / c.ci_hi;
  s.ci_hi = 1.0 / c.ci_lo;
  s.p_value = c.p_value;
  s.significant = c.significant;
  s.baseline_median = c.median_a;
  s.median = c.median_b;
  return s;
}

std::optional<double> verify_figure(const results::RunRecord& run, const char* key) {
  const auto it = run.result.summary.find("verify");
  if (it == run.result.summary.end()) return std::nullopt;
  return number_at(*it, key);
}

std::optional<std::string> executed_precision(const results::RunRecord& run) {
  const nlohmann::json& s = run.result.summary;
  if (!s.is_object()) return std::nullopt;
  for (const nlohmann::json* e : {s.contains("executed") ? &s["executed"] : nullptr,
                                  s.contains("verify") && s["verify"].is_object() && s["verify"].contains("executed")
                                      ? &s["verify"]["executed"]
                                      : nullptr}) {
    if (e != nullptr && e->is_object() && e->contains("precision") && (*e)["precision"].is_string()) {
      return (*e)["precision"].get<std::string>();
    }
  }
  return std::nullopt;
}

std::optional<std::string> accuracy_flag(const results::RunRecord& run) {
  const auto it = run.result.summary.find("verify");
  if (it == run.result.summary.end() || !it->is_object() || !it->contains("accuracy_flag") ||
      !(*it)["accuracy_flag"].is_string()) {
    return std::nullopt;
  }
  return (*it)["accuracy_flag"].get<std::string>();
}

std::string precision_label(const results::RunRecord& run) {
  const std::string& stored = run.result.precision;
  const auto ran = executed_precision(run);
  if (!ran || *ran == stored || *ran == "unknown") return stored;
  return fmt::format("{} (ran {})", stored, *ran);
}

std::optional<bench::Interval> top1_interval(const results::RunRecord& run) {
  const auto top1 = verify_figure(run, "top1");
  const auto count = verify_figure(run, "count");
  if (!top1 || !count || *count < 1 || !(*top1 >= 0 && *top1 <= 1)) return std::nullopt;
  const auto n = static_cast<std::size_t>(std::llround(*count));
  // verify's top-1 is correct / count, so this recovers the count of images right.
  const auto k = std::min(n, static_cast<std::size_t>(std::llround(*top1 * static_cast<double>(n))));
  return bench::wilson_interval(k, n);
}

std::optional<double> model_file_mib(const results::RunRecord& run) {
  const auto bytes = number_at(run.result.summary, "model_file_bytes");
  if (!bytes || *bytes <= 0) return std::nullopt;
  return *bytes / (1024.0 * 1024.0);
}

std::optional<double> peak_rss_mib(const results::RunRecord& run) {
  if (!run.result.rss_kb || *run.result.rss_kb <= 0) return std::nullopt;
  return static_cast<double>(*run.result.rss_kb) / 1024.0;
}

std::optional<double> cold_load_ms(const results::RunRecord& run) {
  if (auto m = median_ms_of(run, "load_seconds")) return m;
  if (run.result.load_s) return 1e3 * *run.result.load_s;
  return std::nullopt;
}

std::optional<double> cold_first_inference_ms(const results::RunRecord& run) {
  if (auto m = median_ms_of(run, "first_inference_seconds")) return m;
  if (run.result.first_inference_s) return 1e3 * *run.result.first_inference_s;
  return std::nullopt;
}

std::size_t cold_runs(const results::RunRecord& run) {
  const auto it = run.result.summary.find("load_seconds");
  if (it != run.result.summary.end() && it->is_array()) return it->size();
  return run.samples.size();
}

StudyView build_view(results::Store& store, std::int64_t study_id, const std::string& baseline, bool with_speedups) {
  StudyView view;
  bool found = false;
  for (auto& s : store.studies()) {
    if (s.id == study_id) {
      view.study = std::move(s);
      found = true;
    }
  }
  if (!found) throw std::invalid_argument(fmt::format("no study with id {}", study_id));
  view.baseline = baseline;

  std::vector<results::RunRecord> runs = store.runs(study_id);
  std::set<int> threads;
  for (const auto& r : runs) threads.insert(r.result.threads);
  for (auto& r : runs) {
    Row row;
    row.label = r.result.backend + " " + r.result.artifact;
    // A compute precision asked of the backend (OpenVINO's BF16 hint on an
    // FP32 file) is another row of the same file and backend: named.
    if (r.configuration.is_object() && r.configuration.contains("requested_precision")) {
      row.label += " " + r.result.precision;
    }
    if (threads.size() > 1) row.label += fmt::format(" t={}", r.result.threads);
    row.is_baseline = r.result.backend == baseline;
    row.model = r.result.model.empty() ? "(unknown model)" : r.result.model;
    if (std::find(view.models.begin(), view.models.end(), row.model) == view.models.end()) {
      view.models.push_back(row.model);
    }
    row.run = std::move(r);
    view.rows.push_back(std::move(row));
  }
  if (!with_speedups) return view;

  // The baseline run each configuration is compared with: same model,
  // scenario, batch and threads; FP32 first when the baseline ran several.
  std::map<std::string, const Row*> base;
  for (const Row& row : view.rows) {
    if (!row.is_baseline || !row.ok() || row.run.samples.empty()) continue;
    const Row*& b = base[match_key(row.run.result)];
    if (b == nullptr || (b->run.result.precision != "fp32" && row.run.result.precision == "fp32")) b = &row;
  }
  for (Row& row : view.rows) {
    if (row.is_baseline || !row.ok() || row.run.samples.empty() || row.run.result.scenario == "cold-start") continue;
    const auto it = base.find(match_key(row.run.result));
    if (it == base.end()) continue;
    row.speedup = speed_up(it->second->run.samples, row.run.samples);
  }
  return view;
}

std::vector<ModelSummary> model_summaries(const StudyView& view) {
  std::vector<ModelSummary> out;
  for (const auto& model : view.models) {
    ModelSummary m;
    m.model = model;
    auto faster = [](const Row* best, const Row& r) {
      return best == nullptr || *r.run.result.median < *best->run.result.median;
    };
    auto higher = [](const Row* best, const Row& r) {
      return best == nullptr || *r.run.result.throughput > *best->run.result.throughput;
    };
    for (const Row& r : view.rows) {
      const auto& x = r.run.result;
      if (!r.ok() || r.model != model) continue;
      if (x.scenario == "single-stream" && x.median) {
        if (faster(m.fastest, r)) m.fastest = &r;
        if (r.is_baseline && faster(m.baseline_fastest, r)) m.baseline_fastest = &r;
      }
      if (x.scenario != "cold-start" && x.throughput && *x.throughput > 0) {
        if (higher(m.highest, r)) m.highest = &r;
        if (r.is_baseline && higher(m.baseline_highest, r)) m.baseline_highest = &r;
      }
    }
    out.push_back(m);
  }
  return out;
}

const nlohmann::json& study_environment(const StudyView& view) {
  static const nlohmann::json empty = nlohmann::json::object();
  for (const Row& r : view.rows) {
    if (r.ok() && !r.run.environment.empty()) return r.run.environment;
  }
  for (const Row& r : view.rows) {
    if (!r.run.environment.empty()) return r.run.environment;
  }
  return empty;
}

}  // namespace inferbench::report
