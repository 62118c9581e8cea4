// The timed loop of a bench worker, in this process: it stops where
// bench::enough() says, flags a stop on a maximum short of the minimums,
// keeps the warm-up out of the samples, runs offline requests from several
// callers, and lets a backend's error through. The test backend
// (src/backends/fault) with latency_us=N is the workload; its sleep is what
// is measured, not a synchronisation.
#include "worker/scenario.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "bench/stats.h"
#include "common/error.h"
#include "worker/job.h"

namespace inferbench::worker {
namespace {

constexpr std::int64_t kBatch = 2;
const std::vector<std::int64_t> kShape{kBatch, 3, 4, 4};

// A backend that passes its first `ok_calls` calls to another one and
// throws on the next: an error in the middle of the timed loop.
class FailAfter final : public backends::Backend {
 public:
  FailAfter(backends::Backend& inner, int ok_calls) : inner_(inner), left_(ok_calls) {}
  void load(const artifact::Artifact& a, const backends::Options& o, int threads) override { inner_.load(a, o, threads); }
  backends::Logits infer(const float* input, const std::vector<std::int64_t>& shape) override {
    if (left_.fetch_sub(1) <= 0) fail(ExitCode::kInput, "fail-after: failing in the timed loop");
    return inner_.infer(input, shape);
  }
  [[nodiscard]] nlohmann::json settings() const override { return inner_.settings(); }

 private:
  backends::Backend& inner_;
  std::atomic<int> left_;
};

class WorkerScenarioTest : public ::testing::Test {
 protected:
  // Before the registry is first built: it reads the variable once.
  static void SetUpTestSuite() { setenv("INFERBENCH_TEST_BACKENDS", "1", 1); }

  void SetUp() override {
    input_.resize(static_cast<std::size_t>(std::accumulate(kShape.begin(), kShape.end(), std::int64_t{1},
                                                           std::multiplies<>())));
    for (std::size_t i = 0; i < input_.size(); ++i) input_[i] = static_cast<float>(i % 7) * 0.25F;
  }

  static const backends::BackendInfo& info() { return backends::find_backend("test-fault"); }

  static std::unique_ptr<backends::Backend> backend(const std::string& fault = "none", int latency_us = 0) {
    auto b = backends::create_backend(info());
    artifact::Artifact a;
    a.path = "model.onnx";
    a.format = "onnx";
    b->load(a, {{"fault", fault}, {"latency_us", std::to_string(latency_us)}}, 1);
    return b;
  }

  // A spec with no warm-up and no minimum time: the count decides.
  static BenchSpec spec(std::int64_t min_count) {
    BenchSpec s;
    s.scenario = "single-stream";
    s.batch = kBatch;
    s.warmup_count = 0;
    s.warmup_seconds = 0;
    s.min_count = min_count;
    s.min_seconds = 0;
    return s;
  }

  ScenarioResult run(backends::Backend& b, const BenchSpec& s) { return run_scenario(b, info(), s, input_.data(), kShape); }

  std::vector<float> input_;
};

TEST_F(WorkerScenarioTest, StopsAtMinCountWhenMinSecondsIsZero) {
  auto b = backend();
  const ScenarioResult r = run(*b, spec(25));
  ASSERT_TRUE(r.timed);
  EXPECT_EQ(r.samples.size(), 25U);
  EXPECT_EQ(r.per_caller, (std::vector<std::int64_t>{25}));
  EXPECT_EQ(r.callers, 1);
  EXPECT_FALSE(r.stopped_short);
  EXPECT_EQ(r.warmup_count, 0);
  EXPECT_EQ(r.settings["fault"], "none");
  EXPECT_GE(r.first_inference_seconds, 0.0);
  EXPECT_GE(r.wall_seconds, 0.0);
  for (const std::int64_t ns : r.samples) EXPECT_GT(ns, 0);
}

TEST_F(WorkerScenarioTest, MinSecondsHoldsPastMinCount) {
  auto b = backend("none", 1000);
  BenchSpec s = spec(1);
  s.min_seconds = 0.05;
  const ScenarioResult r = run(*b, s);
  EXPECT_GE(r.wall_seconds, 0.05);
  EXPECT_GT(r.samples.size(), 1U);
  EXPECT_FALSE(r.stopped_short);
  for (const std::int64_t ns : r.samples) EXPECT_GE(ns, 1'000'000);  // the backend's latency
}

TEST_F(WorkerScenarioTest, MaxSecondsStopsShortOfTheMinimumsAndSaysSo) {
  auto b = backend("none", 2000);
  BenchSpec s = spec(1'000'000);
  s.max_seconds = 0.05;
  const ScenarioResult r = run(*b, s);
  EXPECT_TRUE(r.stopped_short);
  EXPECT_GE(r.wall_seconds, 0.05);
  EXPECT_LT(r.wall_seconds, 10.0);
  EXPECT_GE(r.samples.size(), 1U);
  EXPECT_LE(r.samples.size(), 25U);  // at least 2 ms each: at most 25 before 50 ms
}

TEST_F(WorkerScenarioTest, MaxCountStopsShortOnlyBeforeTheMinimums) {
  auto b = backend();
  BenchSpec s = spec(100);
  s.max_count = 10;
  ScenarioResult r = run(*b, s);
  EXPECT_EQ(r.samples.size(), 10U);
  EXPECT_TRUE(r.stopped_short);

  // A maximum reached together with the minimums is not short.
  s = spec(10);
  s.max_count = 10;
  r = run(*b, s);
  EXPECT_EQ(r.samples.size(), 10U);
  EXPECT_FALSE(r.stopped_short);

  // A maximum reached with the count met but not the time is short.
  b = backend("none", 1000);
  s = spec(1);
  s.min_seconds = 60;
  s.max_count = 5;
  r = run(*b, s);
  EXPECT_EQ(r.samples.size(), 5U);
  EXPECT_TRUE(r.stopped_short);
}

// Early stopping (ci_target): a steady 500 us workload has a median interval
// far inside 50% of the median by 64 requests, so the loop stops there, long
// before a minimum count of a million, and says so; a target no interval can
// meet leaves the minimums in charge; several callers do not stop early.
TEST_F(WorkerScenarioTest, EarlyStoppingEndsTheLoopOnceTheMedianIsKnown) {
  auto b = backend("none", 500);
  BenchSpec s = spec(1'000'000);
  s.ci_target = 0.5;
  s.ci_min_count = 64;
  ScenarioResult r = run(*b, s);
  EXPECT_EQ(r.samples.size(), 64U);
  EXPECT_TRUE(r.stopped_early);
  EXPECT_FALSE(r.stopped_short);
  EXPECT_LE(bench::median_ci_width(r.samples), 0.5);

  s = spec(150);
  s.ci_target = 1e-12;  // narrower than one nanosecond in 500 us
  r = run(*b, s);
  EXPECT_EQ(r.samples.size(), 150U);
  EXPECT_FALSE(r.stopped_early);

  s = spec(150);
  s.ci_target = 0.5;
  s.ci_min_count = 10;
  s.scenario = "offline";
  s.concurrency = 2;
  r = run(*b, s);
  EXPECT_GE(r.samples.size(), 150U);
  EXPECT_FALSE(r.stopped_early);
}

TEST_F(WorkerScenarioTest, WarmupIsNotInTheSamples) {
  auto b = backend();
  BenchSpec s = spec(5);
  s.warmup_count = 7;
  ScenarioResult r = run(*b, s);
  EXPECT_EQ(r.warmup_count, 7);
  EXPECT_EQ(r.samples.size(), 5U);

  // Warm-up by time: every call takes at least 1 ms, so 30 ms hold at most 30.
  b = backend("none", 1000);
  s = spec(5);
  s.warmup_seconds = 0.03;
  r = run(*b, s);
  EXPECT_GE(r.warmup_count, 1);
  EXPECT_LE(r.warmup_count, 30);
  EXPECT_EQ(r.samples.size(), 5U);
}

TEST_F(WorkerScenarioTest, ColdStartRunsOnlyTheFirstInference) {
  auto b = backend();
  BenchSpec s = spec(5);
  s.scenario = "cold-start";
  s.warmup_count = 3;
  const ScenarioResult r = run(*b, s);
  EXPECT_FALSE(r.timed);
  EXPECT_TRUE(r.samples.empty());
  EXPECT_EQ(r.warmup_count, 0);
  EXPECT_GE(r.first_inference_seconds, 0.0);
  EXPECT_EQ(r.settings["fault"], "none");
}

TEST_F(WorkerScenarioTest, OfflineConcurrencyGivesSamplesFromEveryCaller) {
  auto b = backend("none", 1000);
  BenchSpec s = spec(400);
  s.scenario = "offline";
  s.concurrency = 4;
  const ScenarioResult r = run(*b, s);
  EXPECT_EQ(r.callers, 4);
  ASSERT_EQ(r.per_caller.size(), 4U);
  for (const std::int64_t n : r.per_caller) EXPECT_GE(n, 1);
  EXPECT_EQ(std::accumulate(r.per_caller.begin(), r.per_caller.end(), std::int64_t{0}),
            static_cast<std::int64_t>(r.samples.size()));
  // The rule holds at 400; the other callers' requests in flight still count.
  EXPECT_GE(r.samples.size(), 400U);
  EXPECT_LE(r.samples.size(), 403U);
  EXPECT_FALSE(r.stopped_short);

  // Only the offline scenario has several callers.
  s.scenario = "batch";
  const ScenarioResult one = run(*b, s);
  EXPECT_EQ(one.callers, 1);
  EXPECT_EQ(one.samples.size(), 400U);
}

TEST_F(WorkerScenarioTest, SeveralCallersNeedABackendThatTakesThem) {
  backends::BackendInfo serial = info();
  serial.concurrent_infer = false;
  auto b = backend();
  BenchSpec s = spec(5);
  s.scenario = "offline";
  s.concurrency = 2;
  try {
    (void)run_scenario(*b, serial, s, input_.data(), kShape);
    FAIL() << "expected Error(kUsage)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("does not take concurrent requests"), std::string::npos) << e.what();
  }
  s.concurrency = 1;  // one caller: fine
  EXPECT_EQ(run_scenario(*b, serial, s, input_.data(), kShape).samples.size(), 5U);
}

TEST_F(WorkerScenarioTest, WrongRowCountIsAnInputError) {
  auto b = backend();
  BenchSpec s = spec(5);
  s.batch = kBatch + 1;  // the backend returns one row per image of kShape
  try {
    (void)run(*b, s);
    FAIL() << "expected Error(kInput)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_NE(std::string(e.what()).find("returned 2 rows for a batch of 3"), std::string::npos) << e.what();
  }
}

TEST_F(WorkerScenarioTest, BackendErrorsPropagate) {
  // At the first inference.
  auto failing = backend("error");
  try {
    (void)run(*failing, spec(5));
    FAIL() << "expected the backend's error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_NE(std::string(e.what()).find("failing on request"), std::string::npos) << e.what();
  }

  // Inside the timed loop: first inference, 2 warm-up calls, then 3 timed ones.
  auto inner = backend();
  FailAfter after(*inner, 6);
  BenchSpec s = spec(100);
  s.warmup_count = 2;
  try {
    (void)run(after, s);
    FAIL() << "expected the backend's error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_NE(std::string(e.what()).find("failing in the timed loop"), std::string::npos) << e.what();
  }

  // From one of several callers: every caller stops, the error comes out.
  auto inner2 = backend("none", 500);
  FailAfter after2(*inner2, 20);
  s = spec(1'000'000);
  s.scenario = "offline";
  s.concurrency = 3;
  try {
    (void)run(after2, s);
    FAIL() << "expected the backend's error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("failing in the timed loop"), std::string::npos) << e.what();
  }
}

TEST(WorkerStopRuleTest, BenchSpecConvertsToTheTestedRuleInOnePlace) {
  BenchSpec b;
  b.min_count = 30;
  b.min_seconds = 2.5;
  b.max_seconds = 7;
  b.max_count = 0;  // no limit
  bench::StopRule r = stop_rule(b);
  EXPECT_EQ(r.min_count, 30U);
  EXPECT_EQ(r.min_seconds, 2.5);
  EXPECT_EQ(r.max_seconds, 7.0);
  EXPECT_EQ(r.max_count, std::numeric_limits<std::size_t>::max());
  b.max_count = -3;  // also no limit, as the worker always took it
  EXPECT_EQ(stop_rule(b).max_count, std::numeric_limits<std::size_t>::max());
  b.max_count = 40;
  EXPECT_EQ(stop_rule(b).max_count, 40U);

  // The minimums' defaults are the stopping rule's.
  const BenchSpec d;
  EXPECT_EQ(d.min_count, 662);
  EXPECT_EQ(static_cast<std::size_t>(d.min_count), bench::StopRule{}.min_count);
  EXPECT_EQ(d.min_seconds, bench::StopRule{}.min_seconds);
  EXPECT_EQ(d.max_count, 0);
  EXPECT_EQ(d.max_seconds, 600.0);
  EXPECT_EQ(d.warmup_count, 10);
  EXPECT_EQ(d.warmup_seconds, 1.0);
}

TEST(WorkerStopRuleTest, BenchSpecJsonKeysStayTheSame) {
  const nlohmann::json j = to_json(BenchSpec{});
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"warmup_count", "warmup_seconds", "min_count", "min_seconds", "max_count",
                                         "max_seconds", "concurrency", "scenario", "batch", "ci_target",
                                         "ci_min_count"}));
  BenchSpec b;
  b.scenario = "offline";
  b.batch = 8;
  b.min_count = 12;
  b.max_count = 99;
  b.concurrency = 3;
  b.ci_target = 0.02;
  b.ci_min_count = 100;
  EXPECT_EQ(to_json(bench_from_json(to_json(b))), to_json(b));
  const bench::StopRule rule = stop_rule(b);
  EXPECT_EQ(rule.ci_target, 0.02);
  EXPECT_EQ(rule.ci_min_count, 100U);
  EXPECT_EQ(BenchSpec{}.ci_target, 0.0);  // off unless asked for
  for (const nlohmann::json& bad : {nlohmann::json{{"ci_target", -0.1}}, nlohmann::json{{"ci_target", 1.0}},
                                    nlohmann::json{{"ci_min_count", 1}}}) {
    try {
      (void)bench_from_json(bad);
      ADD_FAILURE() << bad.dump() << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kInput);
      EXPECT_NE(std::string(e.what()).find("ci_target must be in [0, 1)"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace inferbench::worker
