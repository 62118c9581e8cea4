// The worker contract: the parent records a crash, an abort, a hang, running
// out of memory, a failing backend and a bad job as a failed result with the
// reason, and a working backend's result and logits arrive intact. The test
// backend (src/backends/fault) misbehaves on request inside the real
// `inferbench worker` child process.
#include "worker/worker.h"

#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <cstdlib>

#include "common/error.h"
#include "data/tensor_file.h"
#include "testutil/fixtures.h"

namespace inferbench::worker {
namespace {

namespace fs = std::filesystem;
using testutil::TempDir;

class WorkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { setenv("INFERBENCH_TEST_BACKENDS", "1", 1); }

  void SetUp() override {
    tensors_ = testutil::write_split_tensors(dir_ / "split", 6, 8, 3);
    artifact_ = dir_ / "model.onnx";
    testutil::write_text(artifact_, "not read by the test backend");
  }

  Job job(const std::string& fault, const std::string& at = "infer") {
    Job j;
    j.backend = "test-fault";
    j.artifact = artifact_;
    j.options = {{"fault", fault}, {"at", at}};
    j.tensors = tensors_;
    j.dir = dir_ / ("w-" + fault + "-" + at);
    j.batch = 4;
    return j;
  }

  Outcome run(const Job& j, Limits limits = {30, 0}) { return run_worker(INFERBENCH_CLI, j, limits); }

  TempDir dir_;
  fs::path tensors_;
  fs::path artifact_;
};

TEST_F(WorkerTest, WorkingBackendWritesResultAndLogits) {
  const Outcome o = run(job("none"));
  ASSERT_EQ(o.status, Status::kOk) << o.reason << "\n" << o.stderr_tail;
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.result["count"], 6);
  EXPECT_EQ(o.result["classes"], 3);
  EXPECT_EQ(o.result["backend"], "test-fault");
  EXPECT_EQ(o.result["settings"]["fault"], "none");
  EXPECT_GT(o.max_rss_kb, 0);

  // The test backend's logit k of image i is the mean of channel k: check it
  // against the tensors the worker read.
  const data::SplitTensors t = data::load_split_tensors(tensors_);
  ASSERT_EQ(o.result["logits"], "logits.npy");
  const data::NpyArray logits = data::read_npy(job("none").dir / "logits.npy");
  ASSERT_EQ(logits.shape, (std::vector<std::int64_t>{6, 3}));
  const std::int64_t hw = 8 * 8;
  for (std::int64_t i : {0, 5}) {
    for (std::int64_t k = 0; k < 3; ++k) {
      double sum = 0;
      for (std::int64_t p = 0; p < hw; ++p) sum += t.x.as_f32()[(i * 3 + k) * hw + p];
      EXPECT_NEAR(logits.as_f32()[i * 3 + k], sum / hw, 1e-5);
    }
  }
}

TEST_F(WorkerTest, CrashIsRecordedWithItsSignal) {
  const Outcome o = run(job("crash"));
  EXPECT_EQ(o.status, Status::kCrashed);
  EXPECT_EQ(o.signal, SIGSEGV);
  EXPECT_NE(o.reason.find("signal 11"), std::string::npos) << o.reason;
  EXPECT_TRUE(o.result.is_null());
}

TEST_F(WorkerTest, AbortAtLoadIsRecorded) {
  const Outcome o = run(job("abort", "load"));
  EXPECT_EQ(o.status, Status::kCrashed);
  EXPECT_EQ(o.signal, SIGABRT);
}

TEST_F(WorkerTest, HangIsKilledAtTheTimeout) {
  const Outcome o = run(job("hang"), Limits{1.0, 0});
  EXPECT_EQ(o.status, Status::kTimedOut);
  EXPECT_NE(o.reason.find("no result after 1 s"), std::string::npos) << o.reason;
  EXPECT_GE(o.seconds, 1.0);
  EXPECT_LT(o.seconds, 20.0);
}

TEST_F(WorkerTest, RunningOutOfMemoryIsRecorded) {
#if defined(__SANITIZE_ADDRESS__)
  // ASan reserves ~15 TB of address space for its shadow at start-up: under the
  // RLIMIT_AS limit the worker aborts before main (make sanitize).
  GTEST_SKIP() << "the address-space limit cannot apply to an AddressSanitizer build";
#endif
  const Outcome o = run(job("oom"), Limits{60, 1024ULL << 20});
  EXPECT_EQ(o.status, Status::kOutOfMemory) << o.reason << "\n" << o.stderr_tail;
  EXPECT_NE(o.reason.find("out of memory"), std::string::npos) << o.reason;
}

TEST_F(WorkerTest, BackendErrorKeepsItsMessageAndCode) {
  const Outcome o = run(job("error"));
  EXPECT_EQ(o.status, Status::kFailed);
  EXPECT_EQ(o.exit_code, static_cast<int>(ExitCode::kInput));
  EXPECT_NE(o.reason.find("failing on request"), std::string::npos) << o.reason;
}

TEST_F(WorkerTest, NonZeroExitIsRecordedWithStderrTail) {
  const Outcome o = run(job("exit"));
  EXPECT_EQ(o.status, Status::kFailed);
  EXPECT_EQ(o.exit_code, 42);
  EXPECT_NE(o.stderr_tail.find("status 42"), std::string::npos) << o.stderr_tail;
}

TEST_F(WorkerTest, BadJobsFailWithTheReason) {
  Job j = job("none");
  j.options["speed"] = "max";
  Outcome o = run(j);
  EXPECT_EQ(o.status, Status::kFailed);
  EXPECT_EQ(o.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(o.reason.find("no option 'speed'"), std::string::npos) << o.reason;

  j = job("none");
  j.artifact = dir_ / "missing.onnx";
  o = run(j);
  EXPECT_EQ(o.exit_code, static_cast<int>(ExitCode::kInput));
  EXPECT_NE(o.reason.find("missing.onnx"), std::string::npos) << o.reason;

  j = job("none");
  j.backend = "mxnet";  // no such backend
  o = run(j);
  EXPECT_EQ(o.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(o.reason.find("unknown backend 'mxnet'"), std::string::npos) << o.reason;

  j = job("none");
  j.tensors = dir_ / "nowhere";
  o = run(j);
  EXPECT_EQ(o.exit_code, static_cast<int>(ExitCode::kInput));
  EXPECT_NE(o.reason.find("nowhere"), std::string::npos) << o.reason;
}

TEST_F(WorkerTest, MissingExecutableIsASpawnFailureNotACrash) {
  const Outcome o = run_worker(dir_ / "no-such-exe", job("none"), {10, 0});
  EXPECT_EQ(o.status, Status::kFailed);
  EXPECT_EQ(o.exit_code, 127);
  EXPECT_NE(o.stderr_tail.find("cannot start"), std::string::npos);
}

}  // namespace
}  // namespace inferbench::worker
