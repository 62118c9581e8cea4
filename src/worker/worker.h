#pragma once
// Workers: every load-and-run happens in a child process.
//
// The parent writes a job (JSON) into the worker's folder and runs
// `inferbench worker --job FILE`; the child loads one artifact into one
// backend, runs the preprocessed split through it, and writes result.json
// (and logits.npy) atomically into the same folder. The parent survives
// whatever the child does: a crash (signal), a non-zero exit, a hang (it is
// killed at the timeout, with its whole process group) or running out of
// memory (RLIMIT_AS in the child; std::bad_alloc makes the worker exit with
// kWorkerOutOfMemory) all come back as a WorkerOutcome that says so, with the
// tail of the worker's stderr, and the parent carries on.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace inferbench::worker {

// Exit status of a worker that ran out of memory (not one of the CLI's codes:
// only the parent sees it).
inline constexpr int kWorkerOutOfMemory = 86;

// What a benchmark worker measures (mode "bench"). The worker only measures:
// raw latencies go to samples.npy (int64 nanoseconds, one per request), and
// the parent computes every statistic with the tested stats module.
struct BenchSpec {
  std::string scenario = "single-stream";  // single-stream | batch | offline | cold-start
  int batch = 1;
  int warmup_count = 10;       // warm-up ends when both the count and the time are reached
  double warmup_seconds = 1.0;
  std::int64_t min_count = 662;  // p99 at 99% confidence (LoadGen's early-stopping bound)
  double min_seconds = 10.0;
  std::int64_t max_count = 0;  // 0 = no limit
  double max_seconds = 600.0;  // a run stops here even short of the minimums (recorded)
  int concurrency = 1;         // offline: requests in flight, each from its own thread
};
nlohmann::json to_json(const BenchSpec& b);
BenchSpec bench_from_json(const nlohmann::json& j);

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

struct Limits {
  double timeout_s = 600;          // wall clock, load included
  std::uint64_t memory_bytes = 0;  // address-space limit; 0 = none
};

enum class Status { kOk, kFailed, kCrashed, kTimedOut, kOutOfMemory, kSpawnFailed };
std::string_view to_string(Status s);

struct Outcome {
  Status status = Status::kSpawnFailed;
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
  double seconds = 0;  // wall clock of the whole worker
  std::int64_t max_rss_kb = 0;
  std::string reason;       // one line: why it failed ("" when ok)
  std::string stderr_tail;  // last lines of its stderr
  nlohmann::json result;    // result.json when it finished (null otherwise)
};

// Runs `exe worker --job <dir>/job.json` and waits. Never throws for anything
// the child does; throws Error(kOutput) only when the job folder cannot be written.
Outcome run_worker(const std::filesystem::path& exe, const Job& job, const Limits& limits);

// The body of `inferbench worker`: the child side. Returns the process exit
// code; writes result.json on success. Errors are printed to stderr and
// mapped to their exit codes; std::bad_alloc to kWorkerOutOfMemory.
int worker_main(const std::filesystem::path& job_file);

// Path of the running executable (/proc/self/exe).
std::filesystem::path self_exe();

}  // namespace inferbench::worker
