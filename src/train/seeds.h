#pragma once
// `train --seeds N`: one configuration trained with N seeds, and the spread of
// its test metrics.
//
// Training is deterministic for one CPU model and thread count only: the same
// seed and data gave 85.5/82.4/88.3% test top-1 (MobileNetV2 /
// EfficientNetB0 / ResNet50) on a 2-core Intel Xeon and 89.8/88.1/87.9% on a
// 2-core AMD EPYC (presumably the math kernels pick other instructions on each
// CPU and sum in another order; the differences grow over thousands of steps).
// One seed's figure is therefore one draw; the spread over seeds says
// how far another draw may land (benchmarks/training-budget.md).
//
// The seeds are SEED, SEED+1, ..., SEED+N-1 (SEED = --seed). The first trains
// in OUT itself, so OUT/model.ckpt is the first seed's checkpoint (the one
// `inferbench run` exports and benchmarks); seed S > SEED trains in
// OUT/seed-S/ with the same files. OUT/seeds.json holds seed_summary().
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace inferbench::train {

inline constexpr int kMaxSeeds = 1000;

// The value of --seeds: a whole number from 1 to kMaxSeeds (digits only).
// Error(kUsage) naming --seeds and the value otherwise.
int parse_seeds(std::string_view text);

// first, first+1, ..., first+n-1; Error(kUsage) when that passes 2^64-1.
std::vector<std::uint64_t> seed_list(std::uint64_t first, int n);

// Where seed `seed` of a run whose first seed is `first` trains: `out` for
// the first, out/seed-<seed> for the others.
std::filesystem::path seed_dir(const std::filesystem::path& out, std::uint64_t first, std::uint64_t seed);

// One seed's outcome.
struct SeedRun {
  std::uint64_t seed = 0;
  std::filesystem::path dir;
  std::string status;  // TrainResult::status
  nlohmann::json test;  // TrainResult::test_metrics (null without a test split)
  double seconds = 0.0;
};

// The test metrics summarised over seeds, by name ("top1", "top5", "macro_f1"
// of ClassificationMetrics::to_json), each
//   {"values": [per seed, in seed order], "mean", "std" (sample standard
//    deviation, n - 1; null for one seed), "min", "max"}
// (a metric is left out when no seed has it), beside
//   {"n", "first_seed", "seeds": [...], "runs": [{"seed", "dir", "status",
//    "seconds", "top1", "top5", "macro_f1"}], "seconds": total}.
nlohmann::json seed_summary(const std::vector<SeedRun>& runs);

// The summary for the terminal: a row per seed, then mean, std and min-max.
std::string seed_table(const nlohmann::json& summary);

// Sample standard deviation (n - 1); 0 for fewer than two values.
double sample_std(const std::vector<double>& values);

}  // namespace inferbench::train
