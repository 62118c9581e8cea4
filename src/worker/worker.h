#pragma once
// Workers: every load-and-run happens in a child process. This header is the
// parent side; the child side is worker/child.h, the job both share is
// worker/job.h and the timed loop a bench worker runs is worker/scenario.h.
//
// The parent writes a job (JSON) into the worker's folder and runs
// `inferbench worker --job FILE`; the child loads one artifact into one
// backend, runs the preprocessed split through it, and writes result.json
// (and logits.npy) atomically into the same folder. The parent survives
// whatever the child does: a crash (signal), a non-zero exit, a hang (it is
// killed at the timeout, with its whole process group) or running out of
// memory (RLIMIT_AS in the child; std::bad_alloc makes the worker exit with
// kWorkerOutOfMemory) all come back as a WorkerOutcome that says so, with the
// tail of the worker's stderr, and the parent carries on. The worker runs in a
// process group of its own and dies with the parent (kill -9 included:
// common/process.h), so no worker outlives the study that started it.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "worker/job.h"

namespace inferbench::worker {

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
  double cpu_seconds = 0;             // user + system time of the worker (rusage)
  double machine_busy_seconds = -1;   // busy CPU time of every core while it ran (/proc/stat), less this
                                      // process's own; -1 unknown
  std::string reason;       // one line: why it failed ("" when ok)
  std::string stderr_tail;  // last lines of its stderr
  nlohmann::json result;    // result.json when it finished (null otherwise)
};

// Runs `exe worker --job <dir>/job.json` and waits. Never throws for anything
// the child does; throws Error(kOutput) only when the job folder cannot be written.
Outcome run_worker(const std::filesystem::path& exe, const Job& job, const Limits& limits);

// Path of the running executable (/proc/self/exe).
std::filesystem::path self_exe();

}  // namespace inferbench::worker
