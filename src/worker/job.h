#pragma once
// The job of a worker: what the parent asks and the child does, and its JSON
// (job.json in the worker's folder). Both sides of the process boundary
// include this header and nothing else of each other.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "backends/backend.h"
#include "bench/stats.h"

namespace inferbench::worker {

// Exit status of a worker that ran out of memory (not one of the CLI's codes:
// only the parent sees it).
inline constexpr int kWorkerOutOfMemory = 86;

// What a benchmark worker measures (mode "bench"). The worker only measures:
// raw latencies go to samples.npy (int64 nanoseconds, one per request), and
// the parent computes every statistic with the tested stats module.
// The defaults here are the only copy of the benchmark's timing defaults (the
// CLI and PlanSpec take theirs from a default BenchSpec); the minimums are
// bench::StopRule's.
struct BenchSpec {
  std::string scenario = "single-stream";  // single-stream | batch | offline | cold-start
  int batch = 1;
  int warmup_count = 10;  // warm-up ends when both the count and the time are reached
  double warmup_seconds = 1.0;
  std::int64_t min_count = static_cast<std::int64_t>(bench::StopRule{}.min_count);  // p99 at 99% confidence
  double min_seconds = bench::StopRule{}.min_seconds;
  std::int64_t max_count = 0;  // 0 (or less) = no limit
  double max_seconds = 600.0;  // a run stops here even short of the minimums (recorded)
  int concurrency = 1;         // offline: requests in flight, each from its own thread
  // Early stopping (bench::StopRule): stop before the minimums once the
  // median's 95% interval is at most this fraction of the median (0 = off;
  // one caller only) and there are ci_min_count samples.
  double ci_target = 0;
  std::int64_t ci_min_count = static_cast<std::int64_t>(bench::StopRule{}.ci_min_count);
};
// The keys are the fields' names; bench_from_json takes any subset (missing
// keys keep their defaults) and throws Error(kInput) for an unknown scenario
// or a value out of range.
nlohmann::json to_json(const BenchSpec& b);
BenchSpec bench_from_json(const nlohmann::json& j);

// The stopping rule of the timed loop: BenchSpec's minimums and maximums as
// bench::enough() takes them (max_count <= 0 becomes "no limit").
bench::StopRule stop_rule(const BenchSpec& b);

struct Job {
  std::string mode = "verify";  // "verify": the whole split once, logits kept; "bench": BenchSpec
  BenchSpec bench;
  std::string backend;
  std::filesystem::path artifact;
  backends::Options options;
  std::filesystem::path tensors;  // folder written by `data export-tensors`
  std::filesystem::path dir;      // the worker's folder: job.json, result.json, logits.npy, stderr.txt
  int threads = 1;
  int batch = 32;
  bool write_logits = true;
};
nlohmann::json to_json(const Job& job);
Job job_from_json(const nlohmann::json& j);  // Error(kInput) when malformed

}  // namespace inferbench::worker
