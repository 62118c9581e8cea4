#pragma once
// The timed loop of a bench worker: one scenario run on a loaded backend, in
// this process. The child (worker/child.h) loads the artifact and writes what
// this returns into result.json and samples.npy; the tests run it in-process
// on the test backend.
//
// Timed region = backend.infer() on a batch already in memory in the layout
// the artifact takes (the same boundary for every backend).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "backends/backend.h"
#include "worker/job.h"

namespace inferbench::worker {

struct ScenarioResult {
  double first_inference_seconds = 0;
  // backend.settings() read right after the first inference (a backend may
  // settle what it reports on first use).
  nlohmann::json settings;
  bool timed = false;  // false for cold-start: only the first inference ran
  // What follows is set when `timed`.
  std::int64_t warmup_count = 0;  // warm-up inferences run (not in samples)
  int callers = 1;                // requests in flight (offline: spec.concurrency; else 1)
  // Latency of each timed request in nanoseconds: caller 0's in order, then
  // caller 1's, and so on.
  std::vector<std::int64_t> samples;
  std::vector<std::int64_t> per_caller;  // how many of `samples` each caller ran
  double wall_seconds = 0;               // the timed loop, first request to last
  double cpu_seconds = 0;                // this process's CPU time over the timed loop (all threads)
  bool stopped_short = false;            // a maximum was reached before both minimums
  bool stopped_early = false;            // the precision rule (ci_target) held before the minimums
};

// Runs `spec`'s scenario on `backend` (loaded already): the first inference
// (timed alone), then unless the scenario is cold-start, the warm-up (until
// both spec.warmup_count and spec.warmup_seconds are reached; not counted),
// then the timed loop until bench::enough() holds for stop_rule(spec) (or,
// with one caller and spec.ci_target > 0, the median's interval is that
// narrow: bench::median_ci_width, asked each time the count grows by 5%), with
// spec.concurrency callers (each its own thread and copy of the input) for
// "offline" and one caller otherwise. `input` is one batch of spec.batch
// images, `shape` its shape ([spec.batch, ...], the layout the artifact takes).
// In offline runs a request in flight when the rule holds still completes
// and is counted, so `samples` may hold up to callers - 1 more than the count
// at which it stopped.
// Throws Error(kInput) when the first inference returns another number of
// rows than spec.batch, Error(kUsage) when several callers are asked of a
// backend whose info says it takes no concurrent requests, and whatever
// backend.infer() throws (in offline runs: the first caller's error, after
// every caller has stopped).
ScenarioResult run_scenario(backends::Backend& backend, const backends::BackendInfo& info, const BenchSpec& spec,
                            const float* input, const std::vector<std::int64_t>& shape);

}  // namespace inferbench::worker
