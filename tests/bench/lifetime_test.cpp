// A benchmark's lifetime and its neighbours (issue 16, item 3): a `kill -9`
// of `bench` takes its worker along and leaves a study that reads
// "interrupted"; SIGINT/SIGTERM mark it so and exit 130/143; a second process
// on the same study is refused (exit 8); a second benchmark on the machine
// waits for the machine lock (or refuses with --no-wait); a run measured while
// other processes load the machine is flagged "overlapped". Through the real
// binary with the test backend; the hang reports through a FIFO the test
// blocks on, and other processes' states are polled from /proc with a bound.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/runner.h"
#include "common/files.h"
#include "results/store.h"
#include "testutil/fixtures.h"
#include "testutil/processes.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testutil::run_cli;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

class BenchLifetime : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("INFERBENCH_TEST_BACKENDS", "1", 1);
    // A machine lock of this test's own: other tests' benchmarks neither wait
    // for these nor disturb them.
    setenv("INFERBENCH_MACHINE_LOCK", (dir_.path() / "machine.lock").c_str(), 1);
    tensors_ = testutil::write_split_tensors(dir_.path() / "split", 6, 8, 3);
    ASSERT_EQ(mkfifo(fifo_.c_str(), 0600), 0);
  }
  void TearDown() override {
    for (int p : cleanup_) testutil::kill_if_running(p);
    unsetenv("INFERBENCH_MACHINE_LOCK");
    unsetenv("INFERBENCH_TEST_BACKENDS");
  }

  fs::path artifact(const std::string& name, const nlohmann::json& fault = nullptr) {
    const fs::path p = dir_.path() / "models" / name;
    testutil::write_text(p, "read by nothing but the test backend");
    nlohmann::json side{{"format", "onnx"},
                        {"model", "fake"},
                        {"input", {{"layout", "NCHW"}, {"height", 8}, {"width", 8}, {"dynamic_batch", true}}},
                        {"classes", {"class0", "class1", "class2"}},
                        {"source", nlohmann::json::object()}};
    if (!fault.is_null()) side["source"]["test_fault"] = fault;
    testutil::write_text(p.string() + ".json", side.dump());
    return p;
  }
  // An artifact whose worker hangs at load after writing its pid to the FIFO.
  fs::path hanging(const std::string& name) {
    return artifact(name, {{"fault", "hang"}, {"at", "load"}, {"notify", fifo_.string()}});
  }

  std::vector<std::string> bench_args(const std::string& study, std::vector<std::string> extra) {
    std::vector<std::string> a{"--quiet", "bench", "--tensors", tensors_.string(), "--backends", "test-fault",
                               "--db", db_.string(), "--study", study, "--work-dir", (dir_.path() / "work").string(),
                               "--warmup", "2", "--warmup-seconds", "0", "--min-count", "40", "--min-seconds", "0.05",
                               "--peak-seconds", "0", "--threads", "1", "--scenarios", "single-stream", "--order",
                               "sequential", "--json"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // Starts a study whose second run hangs; returns once that run's worker has
  // loaded (the first run is committed by then): {bench pid, worker pid}.
  std::pair<int, int> start_hanging_study(const std::string& study, const std::string& tag) {
    const auto a = artifact(tag + "-a.onnx");
    const auto b = hanging(tag + "-b.onnx");
    const int pid = testutil::spawn_cli(bench_args(study, {a.string(), b.string()}), dir_.path() / (tag + ".out"),
                                        dir_.path() / (tag + ".err"));
    cleanup_.push_back(pid);
    std::ifstream in(fifo_);
    int worker = 0;
    in >> worker;
    cleanup_.push_back(worker);
    return {pid, worker};
  }

  // The status column as stored (not as Store reads it).
  std::string stored_status(const std::string& study) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT status FROM studies WHERE name = ?", -1, &s, nullptr);
    sqlite3_bind_text(s, 1, study.c_str(), -1, SQLITE_TRANSIENT);
    std::string out = sqlite3_step(s) == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0)) : "";
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
  }

  std::vector<results::RunRecord> runs(const std::string& study) {
    results::Store store = results::Store::open(db_);
    return store.runs(store.find_study(study).value().id);
  }

  testutil::TempDir dir_;
  fs::path tensors_;
  fs::path db_ = dir_.path() / "results.db";
  fs::path fifo_ = dir_.path() / "hang.fifo";
  std::vector<int> cleanup_;
};

TEST_F(BenchLifetime, AKilledBenchTakesItsWorkerAlongAndItsStudyReadsInterrupted) {
  const auto [pid, worker] = start_hanging_study("killed", "k");
  ASSERT_GT(worker, 0);
  ASSERT_TRUE(testutil::process_running(worker));
  kill(pid, SIGKILL);
  EXPECT_EQ(testutil::wait_cli(pid), 128 + SIGKILL);
  // The worker hangs for good; only its parent's death can end it.
  EXPECT_TRUE(testutil::poll_until([&] { return !testutil::process_running(worker); }, 10s))
      << "worker " << worker << " outlived the bench process that started it";

  // Stored as running (nobody could write otherwise), read as interrupted: its owner is gone.
  EXPECT_EQ(stored_status("killed"), "running");
  const auto list = run_cli({"results", "--db", db_.string(), "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("interrupted"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("running"), std::string::npos) << list.out;

  // An immediate re-run is safe: nothing is left holding the study.
  fs::remove(fifo_);  // b no longer hangs
  const auto r = run_cli(bench_args("killed", {(dir_.path() / "models" / "k-a.onnx").string(),
                                               (dir_.path() / "models" / "k-b.onnx").string(), "--resume"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["resumed"], 1);
  EXPECT_EQ(runs("killed").size(), 2U);
  EXPECT_EQ(stored_status("killed"), "finished");
}

TEST_F(BenchLifetime, SigintAndSigtermMarkTheStudyInterruptedAndKeepWhatWasRecorded) {
  for (const auto& [sig, code] : {std::pair{SIGINT, 130}, std::pair{SIGTERM, 143}}) {
    const std::string study = "signal-" + std::to_string(sig);
    const auto [pid, worker] = start_hanging_study(study, "s" + std::to_string(sig));
    ASSERT_GT(worker, 0);
    kill(pid, sig);
    EXPECT_EQ(testutil::wait_cli(pid), code);
    EXPECT_TRUE(testutil::poll_until([&] { return !testutil::process_running(worker); }, 10s));
    EXPECT_EQ(stored_status(study), "interrupted");
    const auto rs = runs(study);
    ASSERT_EQ(rs.size(), 1U);  // the first run is kept; the one in flight is not recorded
    EXPECT_EQ(rs[0].status, results::RunStatus::kOk);
    const std::string err = slurp(dir_.path() / ("s" + std::to_string(sig) + ".err"));
    EXPECT_NE(err.find("marked interrupted with 1 of 2 runs recorded"), std::string::npos) << err;
  }
}

TEST_F(BenchLifetime, ASecondProcessOnTheSameStudyIsRefused) {
  const auto [pid, worker] = start_hanging_study("busy", "b");
  ASSERT_GT(worker, 0);
  // Two --resume of one study: the second refuses, naming the first.
  auto r = run_cli(bench_args("busy", {artifact("other.onnx").string(), "--resume", "--no-machine-lock"}));
  EXPECT_EQ(r.exit_code, 8) << r.err;
  EXPECT_NE(r.err.find("study 'busy'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pid " + std::to_string(pid)), std::string::npos) << r.err;
  // A new study of the same name while it runs: refused the same way, not "already exists".
  r = run_cli(bench_args("busy", {artifact("other.onnx").string(), "--no-machine-lock"}));
  EXPECT_EQ(r.exit_code, 8) << r.err;
  // Another study on the same machine with --no-wait: refused, naming the machine lock's holder.
  r = run_cli(bench_args("elsewhere", {artifact("other.onnx").string(), "--no-wait"}));
  EXPECT_EQ(r.exit_code, 8) << r.err;
  EXPECT_NE(r.err.find("another benchmark is measuring on this machine"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("study 'busy'"), std::string::npos) << r.err;
  kill(pid, SIGINT);
  EXPECT_EQ(testutil::wait_cli(pid), 130);
  EXPECT_EQ(runs("busy").size(), 1U);  // the refused processes wrote nothing
}

TEST_F(BenchLifetime, ASecondBenchWaitsForTheMachineLock) {
  const auto [pid, worker] = start_hanging_study("first", "w");
  ASSERT_GT(worker, 0);
  const fs::path err = dir_.path() / "second.err";
  const int second = testutil::spawn_cli(bench_args("second", {artifact("c.onnx").string()}),
                                         dir_.path() / "second.out", err);
  cleanup_.push_back(second);
  ASSERT_TRUE(testutil::poll_until(
      [&] { return slurp(err).find("waiting for the machine's benchmark lock") != std::string::npos; }, 30s))
      << slurp(err);
  EXPECT_TRUE(testutil::process_running(second));
  {
    results::Store store = results::Store::open(db_);
    EXPECT_FALSE(store.find_study("second").has_value()) << "it began before the lock was free";
  }
  kill(pid, SIGTERM);
  EXPECT_EQ(testutil::wait_cli(pid), 143);
  EXPECT_EQ(testutil::wait_cli(second), 0) << slurp(err);
  const auto rs = runs("second");
  ASSERT_EQ(rs.size(), 1U);
  EXPECT_EQ(rs[0].status, results::RunStatus::kOk);
}

// A machine lock that cannot be opened does not stop a study (the lock only
// keeps two benchmarks apart): bench says so, naming the file, and measures.
TEST_F(BenchLifetime, AMachineLockThatCannotBeOpenedIsNamedInAWarningAndTheStudyGoesOn) {
  // Its folder is a file: the lock can be neither made nor opened.
  testutil::write_text(dir_.path() / "a-file", "not a folder");
  const fs::path lock = dir_.path() / "a-file" / "machine.lock";
  setenv("INFERBENCH_MACHINE_LOCK", lock.c_str(), 1);
  const auto r = run_cli(bench_args("unlockable", {artifact("a.onnx").string()}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("WARNING: measuring without the machine's benchmark lock"), std::string::npos) << r.err;
  // The cause named: the folder that cannot be made, and the lock file's name.
  EXPECT_NE(r.err.find("cannot create the folder '" + lock.parent_path().string() + "' for the lock file 'machine.lock'"),
            std::string::npos)
      << r.err;
  ASSERT_EQ(runs("unlockable").size(), 1U);
  EXPECT_EQ(runs("unlockable")[0].status, results::RunStatus::kOk);
}

TEST_F(BenchLifetime, ARunMeasuredUnderOtherLoadIsFlaggedOverlapped) {
  // Busy loops on every core while the run is measured.
  const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  std::vector<int> burners;
  for (unsigned i = 0; i < cores; ++i) {
    const pid_t p = fork();
    ASSERT_GE(p, 0);
    if (p == 0) {
      for (;;) __asm__ volatile("");  // spin
    }
    burners.push_back(p);
    cleanup_.push_back(p);
  }
  auto args = bench_args("loaded", {artifact("m.onnx", {{"latency_us", 2000}}).string()});
  *(std::find(args.begin(), args.end(), "--min-seconds") + 1) = "0.5";
  const auto r = run_cli(args);
  for (int p : burners) kill(p, SIGKILL);
  for (int p : burners) testutil::wait_cli(p);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rs = runs("loaded");
  ASSERT_EQ(rs.size(), 1U);
  const auto& summary = rs[0].result.summary;
  ASSERT_TRUE(summary.contains("load")) << summary.dump();
  EXPECT_GT(summary["load"]["others_share"].get<double>(), 0.5) << summary["load"].dump();
  EXPECT_TRUE(summary["load"].contains("loadavg_1m_after"));
  EXPECT_TRUE(summary.value("overlapped", false)) << summary.dump();
  EXPECT_NE(summary["notes"].dump().find("overlapped: other processes used"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(r.out)["overlapped"], 1);
  EXPECT_TRUE(nlohmann::json::parse(r.out)["runs"][0].value("overlapped", false));
}

TEST(LoadRecord, SharesOfTheMachineAndTheFlag) {
  // 2 cores for 1 s: others used 0.9 s of the 2 s there were.
  auto j = bench::load_record({1.0, 1.0, 0.1, 2});
  EXPECT_NEAR(j["others_cpu_s"].get<double>(), 0.9, 1e-9);
  EXPECT_NEAR(j["others_share"].get<double>(), 0.45, 1e-9);
  EXPECT_TRUE(j["overlapped"].get<bool>());
  // 5% of the machine: below the threshold.
  j = bench::load_record({2.0, 0.5, 0.3, 2});
  EXPECT_NEAR(j["others_share"].get<double>(), 0.05, 1e-9);
  EXPECT_FALSE(j["overlapped"].get<bool>());
  // Above 10% but within /proc/stat's resolution (3 ticks a core): not flagged.
  j = bench::load_record({0.01, 0.02, 0.0, 1});
  EXPECT_FALSE(j["overlapped"].get<bool>());
  // The workers' own time is never counted as others'; no /proc/stat, no figures.
  EXPECT_EQ(bench::load_record({1.0, 0.5, 0.9, 1})["others_cpu_s"].get<double>(), 0.0);
  j = bench::load_record({1.0, -1, 0.5, 4});
  EXPECT_FALSE(j.contains("others_share"));
  EXPECT_FALSE(j["overlapped"].get<bool>());
  EXPECT_EQ(j["cores"], 4);
}

}  // namespace
}  // namespace inferbench
