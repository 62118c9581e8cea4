#pragma once
// `inferbench run`: the whole study in one command.
//
//   data (synthesise or --data DIR, scan, split, preprocess the test split)
//   -> train each architecture -> export every format -> verify every export
//   in every backend -> benchmark every available backend -> report
//
// Every step is an ordinary inferbench subcommand run as a child process (see
// stage.h), so what `run` does is exactly what a user could do by hand, a
// crash in one framework cannot end the study, and each stage is skipped on a
// re-run when its inputs and settings are unchanged (content hashes).
//
// The study is described by a JSON config. Its keys (every one optional; a
// file given with --config is merged over the defaults, RFC 7396 style, so a
// config names only what it changes; "models" replaces the whole list):
//   "data":    dataset folder, or null for the built-in synthetic fruit set
//   "synth":   flags of `data synth` (when "data" is null)
//   "scan":    flags of `data scan`;  "split": flags of `data split`
//   "tensors": flags of `data export-tensors` besides --size
//   "models":  [{"model": NAME, "size": PIXELS, "train": {flags of `train`}}]
//   "export":  flags of `export`;  "verify": flags of `verify`
//   "bench":   a bench plan (the keys `bench --plan` reads) without
//              artifacts, tensors and verify_reports, which run fills in
//   "report":  flags of `report`
// A flag object maps a flag name to its value: {"epochs": 10} is --epochs 10,
// true is a bare flag, false leaves it out, an array is comma-joined (to_flags,
// commands.h, which also holds the command line of every stage).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipeline/commands.h"  // to_flags

namespace inferbench::pipeline {

// The main job's defaults: the built-in fruit set and a budget that finishes
// in minutes on a 2-core machine.
nlohmann::json default_config();

// Defaults merged with `overlay`, then checked: unknown keys, unknown models,
// image sizes too small for an architecture, a bench plan that does not parse.
// Error(kInput) naming `source` and the key.
nlohmann::json resolve_config(const nlohmann::json& overlay, const std::string& source);

struct RunOptions {
  std::filesystem::path out = "inferbench-out";
  std::filesystem::path exe;  // the inferbench binary to run the stages with
  bool force = false;         // run every stage again
  std::string kill_after;     // test hook: SIGKILL itself after this stage
};

// The training table printed at the end of a run, from OUT/train/<model>.json
// (train's --json output): per model top-1, top-5, macro-F1 on the test split
// and training seconds; with several seeds (a model's "train": {"seeds": N})
// mean ± sample std [min-max] over them. "" when no model has test figures.
std::string training_table(const std::filesystem::path& out, const nlohmann::json& models);

// Runs the study; returns the exit code (0, 5 when an export failed
// verification, 6 when some stage or item failed and the rest finished).
// Throws Error for a failure that ends the run (a data stage failed, Ctrl-C).
int run_study(const nlohmann::json& config, const RunOptions& options);

}  // namespace inferbench::pipeline
