#pragma once
// Result records the results and report tests store and read back: one with
// every field set to numbers that must round-trip exactly, one that ended
// without a result (failed, crashed, skipped).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "results/store.h"

namespace inferbench::testutil {

// A run whose every field is set, with awkward numbers (exact round trips).
inline results::RunRecord full_run(std::int64_t study, int index, std::size_t n_samples) {
  results::RunRecord r;
  r.study_id = study;
  r.configuration = {{"backend", "onnxruntime"}, {"model", "mobilenet_v2"}, {"batch", 1}, {"index", index}};
  r.run_key = results::run_key(r.configuration);
  r.started_at = "2024-05-01T12:00:00.000Z";
  r.finished_at = "2024-05-01T12:00:10.500Z";
  r.status = results::RunStatus::kOk;
  r.environment = {{"cpu", "Test CPU @ 2.0GHz"}, {"cores", 2}, {"libraries", {{"onnxruntime", "1.17.1"}}}};
  results::Result& x = r.result;
  x.scenario = "latency";
  x.backend = "onnxruntime";
  x.model = "mobilenet_v2";
  x.artifact = "mobilenet_v2.onnx";
  x.precision = "fp32";
  x.batch = 1;
  x.threads = 2;
  x.count = static_cast<std::int64_t>(n_samples);
  x.min = 0.1 + 0.2;
  x.median = 1.0 / 3.0;
  x.p90 = 0.5;
  x.p95 = 0.6;
  x.p99 = 0.75;
  x.p999 = 0.9;
  x.max = 1e300;
  x.mean = 0.4;
  x.stddev = std::numeric_limits<double>::denorm_min();
  x.cv = 0.05;
  x.ci_lo = 0.3;
  x.ci_hi = 0.35;
  x.throughput = 2500.125;
  x.load_s = 0.25;
  x.first_inference_s = 0.0125;
  x.rss_kb = 123456;
  x.summary = {{"top1", 0.9375}, {"stopped_short", false}};
  for (std::size_t i = 0; i < n_samples; ++i) {
    r.samples.push_back(1e-3 * (1.0 + static_cast<double>(i % 97) / 7.0) + static_cast<double>(index) * 1e-9);
  }
  return r;
}

inline results::RunRecord ended_run(std::int64_t study, const std::string& name, results::RunStatus status,
                             std::string reason) {
  results::RunRecord r;
  r.study_id = study;
  r.configuration = {{"name", name}};
  r.run_key = results::run_key(r.configuration);
  r.started_at = r.finished_at = results::utc_now();
  r.status = status;
  r.reason = std::move(reason);
  r.result.backend = "tflite";
  r.result.model = name;
  return r;
}

// A study as `results export` writes it, without its ids (each store numbers
// its own rows): what must be equal after a move between stores.
inline nlohmann::json export_without_ids(nlohmann::json j) {
  j["study"].erase("id");
  for (auto& r : j["runs"]) r.erase("id");
  return j;
}

}  // namespace inferbench::testutil
