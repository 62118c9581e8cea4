#include "worker/job.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iterator>
#include <limits>

#include "common/error.h"
#include "common/json_number.h"

namespace inferbench::worker {

namespace {

// A whole number of the job, checked (common/json_number.h): j.value("batch",
// 1) casts a float unchecked, undefined for 1e30.
template <std::integral T>
T whole_or(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.is_object() || !j.contains(key)) return fallback;
  if (const auto x = whole_number<T>(j[key])) return *x;
  fail(ExitCode::kInput, fmt::format("worker job: '{}' must be a whole number in [{}, {}], got {}", key,
                                     std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
                                     j[key].dump().substr(0, 80)));
}

// A real number of the timing spec, named when it is not one (j.value() would
// throw "type must be number" without the key).
double number_or(const nlohmann::json& j, const char* key, double fallback) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_number()) {
    fail(ExitCode::kInput, fmt::format("bench timing: '{}' must be a number, got {}", key, j[key].dump().substr(0, 80)));
  }
  return j[key].get<double>();
}

// The keys to_json(BenchSpec) writes, the only ones a spec may have: a typo
// such as "min_cuont" in a plan's "timing" would otherwise run with the default.
constexpr const char* kBenchKeys[] = {"scenario",    "batch",     "warmup_count", "warmup_seconds",
                                      "min_count",   "min_seconds", "max_count",  "max_seconds",
                                      "concurrency", "ci_target", "ci_min_count"};

}  // namespace

nlohmann::json to_json(const BenchSpec& b) {
  return {{"scenario", b.scenario},         {"batch", b.batch},
          {"warmup_count", b.warmup_count}, {"warmup_seconds", b.warmup_seconds},
          {"min_count", b.min_count},       {"min_seconds", b.min_seconds},
          {"max_count", b.max_count},       {"max_seconds", b.max_seconds},
          {"concurrency", b.concurrency},   {"ci_target", b.ci_target},
          {"ci_min_count", b.ci_min_count}};
}

BenchSpec bench_from_json(const nlohmann::json& j) {
  BenchSpec b;
  if (!j.is_object()) fail(ExitCode::kInput, fmt::format("bench timing: expected a JSON object, got {}", j.dump().substr(0, 80)));
  for (const auto& [k, v] : j.items()) {
    if (std::find(std::begin(kBenchKeys), std::end(kBenchKeys), k) == std::end(kBenchKeys)) {
      fail(ExitCode::kInput, fmt::format("bench timing: unknown key '{}' (expected one of: {})", k,
                                         fmt::join(std::begin(kBenchKeys), std::end(kBenchKeys), ", ")));
    }
  }
  if (j.contains("scenario") && !j["scenario"].is_string()) {
    fail(ExitCode::kInput, fmt::format("bench timing: 'scenario' must be a string, got {}", j["scenario"].dump().substr(0, 80)));
  }
  b.scenario = j.value("scenario", b.scenario);
  b.batch = whole_or(j, "batch", b.batch);
  b.warmup_count = whole_or(j, "warmup_count", b.warmup_count);
  b.warmup_seconds = number_or(j, "warmup_seconds", b.warmup_seconds);
  b.min_count = whole_or(j, "min_count", b.min_count);
  b.min_seconds = number_or(j, "min_seconds", b.min_seconds);
  b.max_count = whole_or(j, "max_count", b.max_count);
  b.max_seconds = number_or(j, "max_seconds", b.max_seconds);
  b.concurrency = whole_or(j, "concurrency", b.concurrency);
  b.ci_target = number_or(j, "ci_target", b.ci_target);
  b.ci_min_count = whole_or(j, "ci_min_count", b.ci_min_count);
  if (!(b.ci_target >= 0 && b.ci_target < 1) || b.ci_min_count < 2) {
    fail(ExitCode::kInput, fmt::format("bench timing: ci_target must be in [0, 1) (0 = off; 0.02 = the median's 95% "
                                       "interval within 2% of it) and ci_min_count at least 2, got {} and {}",
                                       b.ci_target, b.ci_min_count));
  }
  if (b.scenario != "single-stream" && b.scenario != "batch" && b.scenario != "offline" && b.scenario != "cold-start") {
    fail(ExitCode::kInput, fmt::format("worker job: unknown scenario '{}'", b.scenario));
  }
  if (b.batch < 1 || b.concurrency < 1 || b.warmup_count < 0 || b.min_count < 1 || b.max_seconds <= 0) {
    fail(ExitCode::kInput, "worker job: batch, concurrency and min_count must be >= 1, max_seconds > 0");
  }
  return b;
}

bench::StopRule stop_rule(const BenchSpec& b) {
  bench::StopRule rule;
  // min_count >= 1 for a validated spec; a lower one in a hand-made spec
  // means "no minimum count" rather than a huge unsigned one.
  rule.min_count = b.min_count > 0 ? static_cast<std::size_t>(b.min_count) : 0;
  rule.min_seconds = b.min_seconds;
  rule.max_count = b.max_count > 0 ? static_cast<std::size_t>(b.max_count) : std::numeric_limits<std::size_t>::max();
  rule.max_seconds = b.max_seconds;
  rule.ci_target = b.ci_target;
  rule.ci_min_count = static_cast<std::size_t>(std::max<std::int64_t>(b.ci_min_count, 2));
  return rule;
}

nlohmann::json to_json(const Job& job) {
  return {{"mode", job.mode},
          {"bench", to_json(job.bench)},
          {"backend", job.backend},
          {"artifact", job.artifact.string()},
          {"options", job.options},
          {"tensors", job.tensors.string()},
          {"dir", job.dir.string()},
          {"threads", job.threads},
          {"batch", job.batch},
          {"write_logits", job.write_logits}};
}

Job job_from_json(const nlohmann::json& j) {
  Job job;
  try {
    job.mode = j.value("mode", job.mode);
    if (j.contains("bench")) job.bench = bench_from_json(j["bench"]);
    job.backend = j.at("backend").get<std::string>();
    job.artifact = j.at("artifact").get<std::string>();
    job.options = j.value("options", backends::Options{});
    job.tensors = j.at("tensors").get<std::string>();
    job.dir = j.at("dir").get<std::string>();
    job.threads = whole_or(j, "threads", job.threads);
    job.batch = whole_or(j, "batch", job.batch);
    job.write_logits = j.value("write_logits", job.write_logits);
  } catch (const nlohmann::json::exception& e) {
    fail(ExitCode::kInput, fmt::format("malformed worker job: {}", e.what()));
  }
  if (job.threads < 1 || job.batch < 1) fail(ExitCode::kInput, "worker job: threads and batch must be at least 1");
  if (job.mode != "verify" && job.mode != "bench") fail(ExitCode::kInput, "worker job: mode must be verify or bench");
  return job;
}

}  // namespace inferbench::worker
