// `inferbench run`'s children die with it, and one output folder holds one
// run (issue 16, item 3). The stage used is the first one, `data synth`, asked
// for far more images than the test lets it render, so it is certainly still
// running when the test acts; its state is polled from /proc, with a bound.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/lock.h"
#include "testutil/fixtures.h"
#include "testutil/processes.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

class RunLifetime : public ::testing::Test {
 protected:
  void SetUp() override {
    // Minutes of rendering: never finished within the test.
    testutil::write_text(config_, R"({"synth": {"per-class": 200000, "size": 256}})");
  }
  void TearDown() override {
    for (int p : cleanup_) testutil::kill_if_running(p);
  }

  // Starts `run` and waits for its stage child; returns {run pid, stage pid}.
  std::pair<int, int> start_run(const std::string& tag) {
    const int pid = testutil::spawn_cli({"run", "--config", config_.string(), "--out", out_.string()},
                                        dir_.path() / (tag + ".out"), dir_.path() / (tag + ".err"));
    cleanup_.push_back(pid);
    int stage = 0;
    EXPECT_TRUE(testutil::poll_until(
        [&] {
          const auto c = testutil::children_of(pid);
          if (!c.empty()) stage = c.front();
          return stage > 0;
        },
        60s))
        << slurp(dir_.path() / (tag + ".err"));
    cleanup_.push_back(stage);
    return {pid, stage};
  }

  testutil::TempDir dir_;
  fs::path config_ = dir_.path() / "big-synth.json";
  fs::path out_ = dir_.path() / "out";
  std::vector<int> cleanup_;
};

TEST_F(RunLifetime, AKilledRunTakesItsStageAlongAndAReRunIsSafe) {
  const auto [pid, stage] = start_run("first");
  ASSERT_GT(stage, 0);
  kill(pid, SIGKILL);
  EXPECT_EQ(testutil::wait_cli(pid), 128 + SIGKILL);
  EXPECT_TRUE(testutil::poll_until([&] { return !testutil::process_running(stage); }, 10s))
      << "stage " << stage << " outlived the run that started it";
  // Nothing holds the folder any more: an immediate re-run starts its stage.
  EXPECT_FALSE(lock_holder(out_ / "run.lock").has_value());
  const auto [again, stage2] = start_run("again");
  ASSERT_GT(stage2, 0);
  kill(again, SIGKILL);
  EXPECT_EQ(testutil::wait_cli(again), 128 + SIGKILL);
  EXPECT_TRUE(testutil::poll_until([&] { return !testutil::process_running(stage2); }, 10s));
}

TEST_F(RunLifetime, SigtermStopsTheRunAndItsStageWith143) {
  const auto [pid, stage] = start_run("term");
  ASSERT_GT(stage, 0);
  kill(pid, SIGTERM);
  EXPECT_EQ(testutil::wait_cli(pid), 143);
  EXPECT_FALSE(testutil::process_running(stage));  // it waited for its stage
  const std::string err = slurp(dir_.path() / "term.err");
  EXPECT_NE(err.find("terminated during 'synth'"), std::string::npos) << err;
}

TEST_F(RunLifetime, ASecondRunOnTheSameFolderIsRefused) {
  const auto [pid, stage] = start_run("first");
  ASSERT_GT(stage, 0);
  const auto r = testutil::run_cli({"run", "--config", config_.string(), "--out", out_.string()});
  EXPECT_EQ(r.exit_code, 8) << r.err;
  EXPECT_NE(r.err.find("is in use by another `inferbench run`"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pid " + std::to_string(pid)), std::string::npos) << r.err;
  kill(pid, SIGINT);
  EXPECT_EQ(testutil::wait_cli(pid), 130);
}

TEST_F(RunLifetime, ALeftoverHoldingTheFolderIsNamedByTheReRun) {
  // A process the killed run started, still alive (what children that do not
  // die with their parent leave): here this test, holding the folder's lock.
  const FileLock held = FileLock::acquire(out_ / "run.lock", "a leftover", false, "test");
  const auto r = testutil::run_cli({"run", "--config", config_.string(), "--out", out_.string()});
  EXPECT_EQ(r.exit_code, 8) << r.err;
  EXPECT_NE(r.err.find("a leftover (pid " + std::to_string(getpid())), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out_ / "synth-fruit")) << "it started a stage despite the leftover";
}

}  // namespace
}  // namespace inferbench
