#pragma once
// The study runner of `inferbench bench`: expands a plan (artifacts x backends
// x scenarios x batch sizes x thread counts) into runs, orders them, runs each
// in a fresh worker process, computes the statistics, and records every run
// (ok, failed, crashed, skipped with the reason) in the results database as
// it finishes, so an interrupted study loses at most the run in flight and
// --resume continues where it stopped.
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "worker/worker.h"

namespace inferbench::bench {

struct PlanSpec {
  std::vector<std::filesystem::path> artifacts;  // each described by its sidecar (or a checkpoint)
  std::vector<std::string> backends{"all"};
  std::vector<std::string> scenarios{"single-stream", "batch"};
  std::vector<int> batches{1, 8, 32};  // for the batch and offline scenarios
  std::vector<int> threads{0};         // 0 = every core of this machine
  std::map<std::string, backends::Options> options;  // per backend
  // The compute precisions asked of backends that can be told one on an FP32
  // artifact (BackendInfo::compute: OpenVINO's inference precision hint,
  // LibTorch's BF16 copy): each offered one is a row of its own. Artifacts
  // stored in FP16 or INT8 run in their own precision whatever this says
  // (backends::precision_variants).
  std::vector<artifact::Precision> precisions{artifact::Precision::kFP32};
  std::filesystem::path tensors;
  worker::BenchSpec timing;  // warm-up and stopping rule (scenario and batch are set per run)
  int cold_runs = 5;         // fresh workers per cold-start run
  int concurrency = 0;       // offline: requests in flight; 0 = cores / threads
  std::string order = "interleaved";  // sequential | interleaved | random
  std::uint64_t seed = 1;             // for order=random
  double timeout_s = 900;
  std::uint64_t memory_bytes = 0;
  std::vector<std::filesystem::path> verify_reports;  // verify.json files: accuracy and parity per artifact x backend
};
nlohmann::json to_json(const PlanSpec& p);
// The same keys as to_json (all optional; missing ones keep their defaults):
// what `bench --plan FILE` reads. Error(kInput) naming the key for a wrong type.
PlanSpec plan_from_json(const nlohmann::json& j);

struct PlannedRun {
  std::filesystem::path artifact;
  artifact::Artifact description;
  std::string backend;
  std::string scenario;
  int batch = 1;
  int threads = 1;
  int concurrency = 1;
  // The precision asked of the backend (the row's precision everywhere): the
  // artifact's own, or a compute precision its options ask for.
  artifact::Precision precision = artifact::Precision::kFP32;
  backends::Options options;
  std::string skip_reason;  // non-empty: recorded as skipped, not run
  // Everything that defines the run; its hash is the resume key.
  [[nodiscard]] nlohmann::json configuration() const;
};

// Expands and orders the plan. Throws Error(kUsage) for an unknown scenario or
// backend, Error(kInput) for a missing artifact.
std::vector<PlannedRun> expand_plan(const PlanSpec& spec);

struct StudyOptions {
  std::filesystem::path database;  // an SQLite file, or a PostgreSQL URI (results::Store::open)
  std::string study;       // name; default: "study-<UTC time>"
  bool resume = false;     // continue the named study, skipping its finished runs
  std::filesystem::path work_dir;  // worker folders
  double fp32_peak_seconds = 1.0;  // FMA micro-benchmark length (0 = skip)
  // The machine-wide benchmark lock (common/lock.h: machine_lock_path()):
  // taken for the whole study so two benchmarks do not measure at once.
  bool machine_lock = true;       // false: --no-machine-lock (the load check still flags an overlap)
  bool wait_for_machine = true;   // false: --no-wait, refuse (exit 8) instead of waiting for the lock
};

// The load other processes put on the machine while one run's workers ran,
// from /proc/stat (every core's busy time) less the workers' own CPU time.
struct LoadSeen {
  double wall_s = 0;            // the workers' wall-clock time
  double busy_cpu_s = -1;       // CPU time of every process but this one in that window; -1 unknown
  double worker_cpu_s = 0;      // the workers' own user + system time
  int cores = 1;
};
// A run is flagged "overlapped" when other processes used more than this
// share of the machine's CPU time (cores x wall) while it ran, and more than
// the resolution of /proc/stat (3 clock ticks per core).
inline constexpr double kOverlapShare = 0.10;
// {"wall_s", "busy_cpu_s", "worker_cpu_s", "others_cpu_s", "others_share",
// "cores", "overlapped"} (no figures but "cores" and "overlapped": false when
// /proc/stat could not be read). Stored as the run's summary.load.
nlohmann::json load_record(const LoadSeen& load);

struct StudyReport {
  std::string study;
  int planned = 0, ran = 0, ok = 0, failed = 0, skipped = 0, resumed = 0;
  int overlapped = 0;  // runs measured while other processes loaded the machine (summary.load)
  nlohmann::json rows = nlohmann::json::array();  // one line per run for the console
};

// Runs the study. Each run's outcome is recorded before the next starts.
// Takes the study's lock (results::Store::lock_study: a file beside an SQLite
// database, an advisory lock in PostgreSQL) for its whole length, so a second process on the same study (two --resume) gets
// Error(kExitBusy, exit 8); and the machine lock unless told not to. SIGINT or
// SIGTERM ends the run in flight (its worker is killed, it is not recorded),
// marks the study "interrupted" and throws Error(130 or 143); what was
// recorded is kept and --resume continues.
StudyReport run_study(const PlanSpec& spec, const StudyOptions& options);

// The console table of a report (one line per run).
std::string format_report(const StudyReport& report);

}  // namespace inferbench::bench
