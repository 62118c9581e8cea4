#pragma once
// `inferbench verify`: every artifact in every backend that loads it, each in
// its own worker process, over the whole preprocessed split, compared with the
// LibTorch FP32 reference on the checkpoint and judged by the precision's
// parity rule (compare.h). The CLI parses flags into a VerifySpec and prints
// the report; `run` owns the orchestration.
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace inferbench::verify {

struct VerifySpec {
  std::filesystem::path checkpoint;               // the reference (libtorch)
  std::filesystem::path tensors;                  // a split from `data export-tensors`
  std::vector<std::filesystem::path> artifacts;   // empty: every artifact in `dir`
  std::filesystem::path dir;                      // folder of exports
  std::vector<std::string> backends{"all"};       // names, or "all" (every one but the reference)
  std::map<std::string, backends::Options> options;  // per backend
  // Compute precisions asked of backends that can be told one (as bench's
  // plan: backends::precision_variants); each is a row with its own rule.
  std::vector<artifact::Precision> precisions{artifact::Precision::kFP32};
  int threads = 1;
  int batch = 32;
  double timeout_s = 900;
  std::uint64_t memory_bytes = 0;                 // per worker; 0 = no limit
  std::filesystem::path out = "inferbench-out/verify";
  // A row whose top-1 is more than this below the reference's (0.01 = one
  // point) is flagged (row "accuracy_flag"), whatever its parity verdict.
  double max_top1_drop = 0.01;
};

struct VerifyReport {
  // What verify.json holds: checkpoint, tensors, count, the reference
  // worker's result and one row per (artifact, backend, precision asked:
  // "precision"; the file's own is "artifact_precision") with its status
  // (pass, FAIL, unavailable, or the worker's failure) and the numbers.
  nlohmann::json report;
  int failed_verify = 0;  // rows that ran and broke their parity rule
  int failed_run = 0;     // rows whose worker failed (crash, timeout, error)
  [[nodiscard]] int exit_code() const;  // 5 when an artifact failed, else 6 when a worker did, else 0
};

// Runs the study and writes OUT/verify.json (and OUT/workers/<tag>/).
// Throws Error(kUsage) for an unknown backend or neither artifacts nor dir,
// Error(kInput) when the reference fails or an input is unreadable.
VerifyReport run(const VerifySpec& spec);

// The console table of a report.
std::string format_report(const nlohmann::json& report, bool color);

}  // namespace inferbench::verify
