// `inferbench bench`, `results` and `compare` end to end through the real
// binary, with the test backend (src/backends/fault): a backend of known
// latency, one that crashes in the middle of a matrix, and one that hangs so
// the study can be killed mid-run and resumed. No sleeps: the hang reports
// through a FIFO that the test blocks on.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "results/store.h"
#include "testutil/fixtures.h"
#include "testutil/text.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;
using testutil::run_cli;

class BenchCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { setenv("INFERBENCH_TEST_BACKENDS", "1", 1); }
  static void TearDownTestSuite() { unsetenv("INFERBENCH_TEST_BACKENDS"); }

  void SetUp() override { tensors_ = testutil::write_split_tensors(dir_.path() / "split", 6, 8, 3); }

  // A model file for the test backend, with its sidecar (and per-artifact fault).
  fs::path artifact(const std::string& name, const nlohmann::json& fault = nullptr, bool dynamic_batch = true) {
    const fs::path p = dir_.path() / "models" / name;
    testutil::write_text(p, "read by nothing but the test backend");
    nlohmann::json side{{"format", "onnx"},
                        {"model", "fake"},
                        {"input", {{"layout", "NCHW"}, {"height", 8}, {"width", 8}, {"dynamic_batch", dynamic_batch}}},
                        {"classes", {"class0", "class1", "class2"}},
                        {"source", nlohmann::json::object()}};
    if (!fault.is_null()) side["source"]["test_fault"] = fault;
    testutil::write_text(p.string() + ".json", side.dump());
    return p;
  }

  std::vector<std::string> bench_args(const std::string& study, std::vector<std::string> extra) {
    std::vector<std::string> a{"--quiet", "bench", "--tensors", tensors_.string(), "--backends", "test-fault",
                               "--db", db_.string(), "--study", study, "--work-dir", (dir_.path() / "work").string(),
                               "--warmup", "2", "--warmup-seconds", "0", "--min-count", "40", "--min-seconds", "0.05",
                               "--peak-seconds", "0.05", "--threads", "1", "--json"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  std::vector<results::RunRecord> runs(const std::string& study) {
    results::Store store = results::Store::open(db_);
    return store.runs(store.find_study(study).value().id);
  }

  testutil::TempDir dir_;
  fs::path tensors_;
  fs::path db_ = dir_.path() / "results.db";
};

TEST_F(BenchCli, MeasuredMedianMatchesAKnownLatency) {
  const auto a = artifact("slow.onnx", {{"latency_us", 3000}});
  const auto r = run_cli(bench_args("known", {a.string(), "--scenarios", "single-stream"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rs = runs("known");
  ASSERT_EQ(rs.size(), 1U);
  const auto& res = rs[0].result;
  ASSERT_TRUE(res.median.has_value());
  // 3 ms of sleep per call: the median is 3 ms plus the wake-up delay and the
  // call overhead (tens of microseconds).
  EXPECT_GE(*res.median, 3.0);
  EXPECT_LT(*res.median, 3.3);
  EXPECT_GE(*res.count, 40);
  EXPECT_EQ(rs[0].samples.size(), static_cast<std::size_t>(*res.count));
  EXPECT_LE(*res.ci_lo, *res.median);
  EXPECT_GE(*res.ci_hi, *res.median);
  EXPECT_EQ(res.batch, 1);
  EXPECT_TRUE(rs[0].environment.contains("fp32_peak"));
  EXPECT_TRUE(res.summary.contains("notes"));  // 40 samples: too few for p99.9, and it says so
  EXPECT_NE(res.summary["notes"].dump().find("p99.9"), std::string::npos) << res.summary.dump();
}

// --ci-target through the binary: a steady 1 ms workload stops at the
// early-stopping minimum (20, not bench_args' --min-count 40 and 50 ms),
// recorded with its note.
TEST_F(BenchCli, EarlyStoppingIsRecordedWithTheRun) {
  const auto a = artifact("steady.onnx", {{"latency_us", 1000}});
  const auto r = run_cli(
      bench_args("early", {a.string(), "--scenarios", "single-stream", "--ci-target", "0.5", "--ci-min-count", "20"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rs = runs("early");
  ASSERT_EQ(rs.size(), 1U);
  EXPECT_EQ(*rs[0].result.count, 20);
  EXPECT_TRUE(rs[0].result.summary.value("stopped_early", false)) << rs[0].result.summary.dump();
  EXPECT_NE(rs[0].result.summary["notes"].dump().find("stopped early after 20 requests: the median's 95% interval "
                                                      "was within 50% of it"),
            std::string::npos)
      << rs[0].result.summary.dump();
  const auto bad = run_cli(bench_args("early-bad", {a.string(), "--ci-target", "1.5"}));
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--ci-target"), std::string::npos) << bad.err;
}

TEST_F(BenchCli, ScenariosExpandAndACrashInTheMatrixIsRecorded) {
  const auto ok = artifact("ok.onnx");
  const auto bad = artifact("bad.onnx", {{"fault", "crash"}});
  const auto fixed = artifact("fixed.onnx", nullptr, false);
  const auto r = run_cli(bench_args("matrix", {ok.string(), bad.string(), fixed.string(), "--scenarios",
                                               "single-stream,batch,offline,cold-start", "--batch", "1,4",
                                               "--cold-runs", "2", "--concurrency", "2"}));
  EXPECT_EQ(r.exit_code, 6) << r.err;  // finished, some runs failed
  const auto report = nlohmann::json::parse(r.out);
  // single-stream 1 + batch 2 + offline 2 + cold-start 1 = 6 configurations x 3 artifacts.
  EXPECT_EQ(report["planned"], 18);
  const auto rs = runs("matrix");
  ASSERT_EQ(rs.size(), 18U);
  int crashed = 0, skipped = 0, ok_runs = 0;
  for (const auto& run : rs) {
    if (run.result.artifact == "bad.onnx") {
      EXPECT_EQ(run.status, results::RunStatus::kCrashed) << run.reason;
      EXPECT_NE(run.reason.find("signal 11"), std::string::npos) << run.reason;
      ++crashed;
    } else if (run.result.artifact == "fixed.onnx" && run.result.batch != 1) {
      EXPECT_EQ(run.status, results::RunStatus::kSkipped);
      EXPECT_NE(run.reason.find("fixed batch"), std::string::npos) << run.reason;
      ++skipped;
    } else {
      EXPECT_EQ(run.status, results::RunStatus::kOk) << run.reason;
      ++ok_runs;
      if (run.result.scenario == "cold-start") {
        EXPECT_EQ(run.samples.size(), 2U);  // two fresh workers
        EXPECT_EQ(run.result.summary["load_seconds"].size(), 2U);
      } else {
        EXPECT_GE(run.samples.size(), 40U);
        EXPECT_GT(*run.result.throughput, 0);
      }
      if (run.result.scenario == "offline") {
        EXPECT_EQ(run.result.summary["concurrency"], 2);
      }
      if (run.result.scenario == "single-stream") {
        EXPECT_EQ(run.result.batch, 1);
      }
    }
  }
  EXPECT_EQ(crashed, 6);
  EXPECT_EQ(skipped, 2);
  EXPECT_EQ(ok_runs, 10);
  // Interleaved order: the first two runs are the same configuration on different artifacts.
  EXPECT_EQ(rs[0].result.scenario, rs[1].result.scenario);
  EXPECT_NE(rs[0].result.artifact, rs[1].result.artifact);
}

TEST_F(BenchCli, AKilledStudyResumesWhereItStopped) {
  const fs::path fifo = dir_.path() / "hang.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const auto a = artifact("a.onnx");
  const auto b = artifact("b.onnx", {{"fault", "hang"}, {"at", "load"}, {"notify", fifo.string()}});
  const auto c = artifact("c.onnx");
  auto args = bench_args("resume", {a.string(), b.string(), c.string(), "--scenarios", "single-stream", "--order",
                                    "sequential"});
  const int pid = testutil::spawn_cli(args, dir_.path() / "out1", dir_.path() / "err1");
  // Blocks until b's worker has loaded (and a's run is committed): then kill the study.
  std::ifstream in(fifo);
  int worker_pid = 0;
  in >> worker_pid;
  ASSERT_GT(worker_pid, 0);
  kill(pid, SIGKILL);
  EXPECT_EQ(testutil::wait_cli(pid), 128 + SIGKILL);
  kill(worker_pid, SIGKILL);  // gone with its parent already (bench_lifetime_test checks that)
  fs::remove(fifo);           // b no longer hangs

  auto rs = runs("resume");
  ASSERT_EQ(rs.size(), 1U);  // a finished before the kill; b was in flight and is lost
  EXPECT_EQ(rs[0].result.artifact, "a.onnx");

  args.push_back("--resume");
  const auto r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["resumed"], 1);
  EXPECT_EQ(report["ran"], 2);
  rs = runs("resume");
  ASSERT_EQ(rs.size(), 3U);
  EXPECT_EQ(rs[0].result.artifact, "a.onnx");
  EXPECT_EQ(rs[1].result.artifact, "b.onnx");
  EXPECT_EQ(rs[2].result.artifact, "c.onnx");
  for (const auto& run : rs) EXPECT_EQ(run.status, results::RunStatus::kOk) << run.reason;
}

TEST_F(BenchCli, CompareFindsAKnownDifferenceAndResultsExport) {
  const auto fast = artifact("m.onnx", {{"latency_us", 2000}});
  ASSERT_EQ(run_cli(bench_args("fast", {fast.string(), "--scenarios", "single-stream"})).exit_code, 0);
  const auto slow = artifact("m.onnx", {{"latency_us", 4000}});  // same name: the runs match
  ASSERT_EQ(run_cli(bench_args("slow", {slow.string(), "--scenarios", "single-stream"})).exit_code, 0);
  auto r = run_cli({"compare", "fast", "slow", "--db", db_.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out)["matches"];
  EXPECT_TRUE(nlohmann::json::parse(r.out)["geometric_means"].empty());  // one model: nothing to average
  ASSERT_EQ(rows.size(), 1U);
  // 4 ms against 2 ms of sleep: about 2 (a little less: the wake-up delay is
  // added to both).
  EXPECT_GT(rows[0]["ratio_b_over_a"].get<double>(), 1.5);
  EXPECT_LT(rows[0]["ratio_b_over_a"].get<double>(), 3.0);
  EXPECT_TRUE(rows[0]["significant"].get<bool>());
  EXPECT_EQ(rows[0]["faster"], "a");
  EXPECT_LT(rows[0]["ci"][0].get<double>(), rows[0]["ci"][1].get<double>());
  EXPECT_GT(rows[0]["ci"][0].get<double>(), 1.0);

  r = run_cli({"results", "--db", db_.string(), "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("fast"), std::string::npos);
  EXPECT_NE(r.out.find("slow"), std::string::npos);
  r = run_cli({"results", "--db", db_.string(), "export", "fast", "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("test-fault"), std::string::npos);
  r = run_cli({"results", "--db", db_.string(), "export", "slow"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["schema"], "inferbench-results");
  r = run_cli({"results", "--db", db_.string(), "show", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no study 'nope'"), std::string::npos) << r.err;

  // The machine axis: both ran here, and compare says so; the same study as
  // if measured on another machine (its environment edited, then imported)
  // is named as such.
  r = run_cli({"compare", "fast", "slow", "--db", db_.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto here = nlohmann::json::parse(r.out)["machines"];
  EXPECT_TRUE(here["same"].get<bool>()) << here.dump();
  ASSERT_EQ(here["a"].size(), 1U);
  EXPECT_EQ(here["a"], here["b"]);
  nlohmann::json elsewhere = nlohmann::json::parse(run_cli({"results", "--db", db_.string(), "export", "slow"}).out);
  for (auto& run : elsewhere["runs"]) {
    run["environment"]["hostname"] = "bench-node-2";
    run["environment"]["cpu"]["model"] = "Other CPU @ 3.0GHz";
  }
  testutil::write_text(dir_.path() / "elsewhere.json", elsewhere.dump());
  r = run_cli({"results", "--db", db_.string(), "import", (dir_.path() / "elsewhere.json").string(), "--as",
               "slow-elsewhere"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli({"compare", "fast", "slow-elsewhere", "--db", db_.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto two = nlohmann::json::parse(r.out)["machines"];
  EXPECT_FALSE(two["same"].get<bool>()) << two.dump();
  EXPECT_EQ(two["a"], here["a"]);
  ASSERT_EQ(two["b"].size(), 1U);
  EXPECT_NE(two["b"][0].get<std::string>().find("Other CPU @ 3.0GHz"), std::string::npos) << two.dump();
  EXPECT_NE(two["b"][0].get<std::string>().find("(host bench-node-2)"), std::string::npos) << two.dump();
  r = run_cli({"compare", "fast", "slow-elsewhere", "--db", db_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("B ran on Other CPU @ 3.0GHz"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("A and B ran on different machines"), std::string::npos) << r.out;
}

// compare's accuracy columns through the binary: three studies of the same
// file, each joined (by content hash) to a verify report written here. A and B
// classify the same 12 test images: A gets all 12, B the first 4 only, so 8
// pairs are discordant and all in A's favour: McNemar's exact p = 2 * 0.5^8.
// C's report is of other test images: no pairing, and compare says why.
TEST_F(BenchCli, CompareTestsAccuracyOnPairedPredictions) {
  const auto m = artifact("m.onnx");
  auto study = [&](const std::string& name, double top1, const std::string& correct, const std::string& test_set) {
    const fs::path report = dir_.path() / (name + "-verify.json");
    testutil::write_text(report, nlohmann::json{{"test_set", test_set},
                                                {"results",
                                                 {{{"artifact", m.string()},
                                                   {"model", "fake"},
                                                   {"backend", "test-fault"},
                                                   {"status", "ok"},
                                                   {"top1", top1},
                                                   {"count", 12},
                                                   {"correct", correct}}}}}
                                     .dump());
    const auto r = run_cli(bench_args(name, {m.string(), "--scenarios", "single-stream", "--verify", report.string()}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  study("all-right", 1.0, "fff", "set-1");
  study("four-right", 4.0 / 12, "f00", "set-1");
  study("other-images", 0.5, "aaa", "set-2");

  auto r = run_cli({"compare", "all-right", "four-right", "--db", db_.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = nlohmann::json::parse(r.out)["matches"];
  ASSERT_EQ(rows.size(), 1U);
  const nlohmann::json acc = rows[0].value("accuracy", nlohmann::json::object());
  ASSERT_TRUE(acc.contains("paired")) << r.out;
  ASSERT_TRUE(acc["paired"].get<bool>()) << acc.dump();
  EXPECT_EQ(acc["images"], 12);
  EXPECT_EQ(acc["a_only"], 8);
  EXPECT_EQ(acc["b_only"], 0);
  EXPECT_DOUBLE_EQ(acc["mcnemar_p"].get<double>(), 2.0 / 256);
  EXPECT_TRUE(acc["significant"].get<bool>());
  EXPECT_EQ(acc["more_accurate"], "a");
  EXPECT_DOUBLE_EQ(acc["top1_a"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(acc["top1_b"].get<double>(), 4.0 / 12);

  // At alpha 0.005 the same 8-0 split is not significant.
  r = run_cli({"compare", "all-right", "four-right", "--db", db_.string(), "--json", "--alpha", "0.005"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["matches"][0]["accuracy"]["more_accurate"], "neither");

  // The table: both top-1s, the p value and the verdict in words.
  r = run_cli({"compare", "all-right", "four-right", "--db", db_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(testutil::contains(r.out, "100.00%")) << r.out;
  EXPECT_TRUE(testutil::contains(r.out, "33.33%")) << r.out;
  EXPECT_TRUE(testutil::contains(r.out, "0.0078")) << r.out;
  EXPECT_TRUE(testutil::contains(r.out, "A is more accurate")) << r.out;

  r = run_cli({"compare", "all-right", "other-images", "--db", db_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(testutil::contains(r.out, "the test sets differ")) << r.out;
  EXPECT_FALSE(testutil::contains(r.out, "more accurate")) << r.out;
}

// Precision against precision in one study (study::fp32 against study::int8):
// runs match without the precision, and across the two models the geometric
// mean of B/A is printed with its interval. Known latencies: model m1 is 2x
// faster in INT8, m2 1.5x, so the geometric mean of B/A is 1/sqrt(3).
TEST_F(BenchCli, ComparePrecisionsWithTheGeometricMeanAcrossModels) {
  auto variant = [&](const std::string& file, const std::string& model, const std::string& precision, int us) {
    const fs::path p = artifact(file, {{"latency_us", us}});
    auto side = nlohmann::json::parse(read_file_text(p.string() + ".json"));
    side["model"] = model;
    side["precision"] = precision;
    testutil::write_text(p.string() + ".json", side.dump());
    return p.string();
  };
  // m1.xml: a second FP32 file of m1 in another format, which has no INT8 counterpart: left unmatched,
  // neither hiding m1.onnx nor hidden by it.
  const std::vector<std::string> files{variant("m1.onnx", "m1", "fp32", 4000), variant("m1-int8.onnx", "m1", "int8", 2000),
                                       variant("m2.onnx", "m2", "fp32", 3000), variant("m2-int8.onnx", "m2", "int8", 2000),
                                       variant("m1.xml", "m1", "fp32", 1000)};
  std::vector<std::string> extra = files;
  extra.insert(extra.end(), {"--scenarios", "single-stream"});
  const auto b = run_cli(bench_args("mixed", extra));
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto r = run_cli({"compare", "mixed::fp32", "mixed::int8", "--db", db_.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["matches"].size(), 2U) << j.dump();
  for (const auto& m : j["matches"]) EXPECT_EQ(m["faster"], "b") << m.dump();
  EXPECT_FALSE(testutil::contains(r.err, "WARNING")) << r.err;
  ASSERT_EQ(j["geometric_means"].size(), 1U) << j.dump();
  const auto& g = j["geometric_means"][0];
  EXPECT_EQ(g["models"], (nlohmann::json{"m1", "m2"}));
  // Sleeps of 2/4 and 2/3 ms plus the same wake-up delay on both sides: close to 0.577, a little above.
  const double ratio = g["geomean_ratio_b_over_a"].get<double>();
  EXPECT_GT(ratio, 0.5);
  EXPECT_LT(ratio, 0.7);
  EXPECT_LE(g["ci"][0].get<double>(), ratio);
  EXPECT_GE(g["ci"][1].get<double>(), ratio);
  r = run_cli({"compare", "mixed::fp32", "mixed::int8", "--db", db_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(testutil::contains(r.out, "geometric mean over 2 models (m1, m2)")) << r.out;
  EXPECT_TRUE(testutil::contains(r.out, "model|format|scenario|batch|threads|backend")) << r.out;
  // A precision that does not exist is a usage error naming it.
  r = run_cli({"compare", "mixed::fp32", "mixed::int4", "--db", db_.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(testutil::contains(r.err, "int4")) << r.err;
}

TEST_F(BenchCli, APlanFileDefinesTheStudyAndFlagsOverrideIt) {
  const auto a = artifact("a.onnx");
  const fs::path plan = dir_.path() / "plan.json";
  testutil::write_text(plan, nlohmann::json{{"artifacts", {a.string()}},
                                            {"backends", {"test-fault"}},
                                            {"scenarios", {"single-stream", "batch"}},
                                            {"batches", {2, 3}},
                                            {"threads", {1}},
                                            {"tensors", tensors_.string()},
                                            {"timing", {{"warmup_count", 1}, {"warmup_seconds", 0},
                                                        {"min_count", 20}, {"min_seconds", 0.01}}}}
                                 .dump());
  auto r = run_cli({"--quiet", "bench", "--plan", plan.string(), "--batch", "4", "--db", db_.string(), "--study",
                    "planned", "--peak-seconds", "0", "--work-dir", (dir_.path() / "work").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rs = runs("planned");
  ASSERT_EQ(rs.size(), 2U);  // single-stream at 1, batch at 4 (the flag replaced the plan's 2,3)
  EXPECT_EQ(rs[1].result.batch, 4);
  EXPECT_GE(rs[0].result.count.value(), 20);

  testutil::write_text(plan, R"({"artifacts": [], "speed": "max"})");
  r = run_cli({"bench", "--plan", plan.string(), "--db", db_.string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("unknown plan key 'speed'"), std::string::npos) << r.err;
}

TEST_F(BenchCli, BadPlansAreUsageErrors) {
  const auto a = artifact("a.onnx");
  auto r = run_cli(bench_args("bad1", {a.string(), "--scenarios", "server"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("server"), std::string::npos) << r.err;
  r = run_cli(bench_args("bad2", {a.string(), "--option", "test-fault:speed=11"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run_cli(bench_args("bad3", {(dir_.path() / "missing.onnx").string()}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  r = run_cli(bench_args("bad4", {a.string(), "--resume"}));  // nothing to resume
  EXPECT_EQ(r.exit_code, 2) << r.err;
  auto args = bench_args("bad5", {a.string()});
  args[3] = (dir_.path() / "no-split").string();  // the value of --tensors
  r = run_cli(args);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("no-split"), std::string::npos) << r.err;
  // A precision the plan file names that does not exist: an input error naming the key and the value.
  const fs::path plan = dir_.path() / "bad-precision.json";
  testutil::write_text(plan, nlohmann::json{{"artifacts", {a.string()}}, {"precisions", {"fp32", "fp8"}}}.dump());
  r = run_cli(bench_args("bad6", {"--plan", plan.string()}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("plan key 'precisions': unknown precision 'fp8' (expected fp32, fp16, bf16, int8 or auto)"),
            std::string::npos)
      << r.err;
}

TEST_F(BenchCli, BadResultsCompareAndDescribeInputs) {
  const fs::path missing = dir_.path() / "nowhere.db";
  auto r = run_cli({"results", "--db", missing.string(), "list"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("nowhere.db"), std::string::npos) << r.err;

  // Two studies with nothing in common: compare says so rather than printing an empty table.
  ASSERT_EQ(run_cli(bench_args("one", {artifact("x.onnx").string(), "--scenarios", "single-stream"})).exit_code, 0);
  ASSERT_EQ(run_cli(bench_args("two", {artifact("y.onnx").string(), "--scenarios", "batch", "--batch", "2"}))
                .exit_code,
            0);
  r = run_cli({"compare", "one", "two", "--db", db_.string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("no matching successful runs"), std::string::npos) << r.err;

  r = run_cli({"describe", (dir_.path() / "absent.onnx").string(), "--size", "8"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("absent.onnx"), std::string::npos) << r.err;
  const fs::path bare = dir_.path() / "bare.onnx";
  testutil::write_text(bare, "made elsewhere");
  r = run_cli({"describe", bare.string(), "--from-tensors", tensors_.string(), "--size", "16"});
  EXPECT_EQ(r.exit_code, 2) << r.err;  // the tensors are 8x8
  EXPECT_NE(r.err.find("--size 16 contradicts"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(bare.string() + ".json"));
}

}  // namespace
}  // namespace inferbench
