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
  backends::Options options;
  std::string skip_reason;  // non-empty: recorded as skipped, not run
  // Everything that defines the run; its hash is the resume key.
  [[nodiscard]] nlohmann::json configuration() const;
};

// Expands and orders the plan. Throws Error(kUsage) for an unknown scenario or
// backend, Error(kInput) for a missing artifact.
std::vector<PlannedRun> expand_plan(const PlanSpec& spec);

struct StudyOptions {
  std::filesystem::path database;
  std::string study;       // name; default: "study-<UTC time>"
  bool resume = false;     // continue the named study, skipping its finished runs
  std::filesystem::path work_dir;  // worker folders
  double fp32_peak_seconds = 1.0;  // FMA micro-benchmark length (0 = skip)
};

struct StudyReport {
  std::string study;
  int planned = 0, ran = 0, ok = 0, failed = 0, skipped = 0, resumed = 0;
  nlohmann::json rows = nlohmann::json::array();  // one line per run for the console
};

// Runs the study. Each run's outcome is recorded before the next starts.
StudyReport run_study(const PlanSpec& spec, const StudyOptions& options);

// The console table of a report (one line per run).
std::string format_report(const StudyReport& report);

}  // namespace inferbench::bench
