#include "worker/scenario.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>

#include "bench/stats.h"
#include "common/error.h"

namespace inferbench::worker {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

}  // namespace

ScenarioResult run_scenario(backends::Backend& backend, const backends::BackendInfo& info, const BenchSpec& spec,
                            const float* input, const std::vector<std::int64_t>& shape) {
  ScenarioResult r;
  auto t = Clock::now();
  const backends::Logits first = backend.infer(input, shape);
  r.first_inference_seconds = seconds_since(t);
  if (first.batch != spec.batch) {
    fail(ExitCode::kInput, fmt::format("backend '{}' returned {} rows for a batch of {}", info.name, first.batch,
                                       spec.batch));
  }
  r.settings = backend.settings();
  if (spec.scenario == "cold-start") return r;
  r.timed = true;

  // Warm-up: not counted.
  t = Clock::now();
  for (int i = 0; i < spec.warmup_count || seconds_since(t) < spec.warmup_seconds; ++i) {
    backend.infer(input, shape);
    ++r.warmup_count;
  }

  const int callers = spec.scenario == "offline" ? spec.concurrency : 1;
  if (callers > 1 && !info.concurrent_infer) {
    fail(ExitCode::kUsage, fmt::format("backend '{}' does not take concurrent requests; use its own asynchronous "
                                       "options (e.g. openvino: hint=throughput async_requests=N) with concurrency 1",
                                       info.name));
  }
  r.callers = callers;
  const bench::StopRule rule = stop_rule(spec);
  // "Stopped short" = the rule held on a maximum alone: with the maximums
  // lifted it would not have.
  bench::StopRule minimums = rule;
  minimums.max_count = std::numeric_limits<std::size_t>::max();
  minimums.max_seconds = std::numeric_limits<double>::infinity();

  const auto values =
      static_cast<std::size_t>(std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>()));
  std::vector<std::vector<std::int64_t>> samples(static_cast<std::size_t>(callers));
  std::atomic<std::int64_t> done{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> short_stop{false};
  const double cpu0 = cpu_seconds();
  const auto start = Clock::now();
  auto should_stop = [&](std::int64_t count) {
    const auto n = static_cast<std::size_t>(count);
    const double elapsed = seconds_since(start);
    if (!bench::enough(n, elapsed, rule)) return false;
    if (!bench::enough(n, elapsed, minimums)) short_stop = true;
    return true;
  };
  // Early stopping on precision: one caller's samples are all the samples,
  // so the loop can ask how wide the median's interval is; asked when the
  // count first reaches ci_min_count and then each time it has grown by 5%,
  // so the checks cost O(n) in all, not O(n^2).
  const bool precision_rule = rule.ci_target > 0 && callers == 1;
  std::size_t next_check = std::max<std::size_t>(rule.ci_min_count, 2);
  bool early = false;
  auto loop = [&](std::size_t k) {
    // Each caller its own copy: a framework may not be handed one buffer from two threads.
    std::vector<float> mine(input, input + values);
    auto& out = samples[k];
    out.reserve(static_cast<std::size_t>(std::max<std::int64_t>(spec.min_count, 1024)));
    while (!stop.load(std::memory_order_relaxed)) {
      const auto s0 = Clock::now();
      backend.infer(mine.data(), shape);
      const auto s1 = Clock::now();
      out.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(s1 - s0).count());
      const std::int64_t n = ++done;
      if (should_stop(n)) {
        stop = true;
      } else if (precision_rule && out.size() >= next_check) {
        next_check = out.size() + std::max<std::size_t>(1, out.size() / 20);
        if (bench::median_ci_width(out) <= rule.ci_target) {
          early = true;
          stop = true;
        }
      }
    }
  };
  std::exception_ptr error;
  if (callers == 1) {
    loop(0);
  } else {
    std::mutex m;
    std::vector<std::thread> pool;
    for (int k = 0; k < callers; ++k) {
      pool.emplace_back([&, k] {
        try {
          loop(static_cast<std::size_t>(k));
        } catch (...) {
          const std::lock_guard lock(m);
          if (!error) error = std::current_exception();
          stop = true;
        }
      });
    }
    for (auto& th : pool) th.join();
  }
  if (error) std::rethrow_exception(error);
  r.wall_seconds = seconds_since(start);
  r.cpu_seconds = cpu_seconds() - cpu0;
  r.stopped_short = short_stop.load();
  r.stopped_early = early;
  for (const auto& v : samples) {
    r.samples.insert(r.samples.end(), v.begin(), v.end());
    r.per_caller.push_back(static_cast<std::int64_t>(v.size()));
  }
  return r;
}

}  // namespace inferbench::worker
