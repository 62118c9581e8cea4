// Whole numbers from outside JSON (common/json_number.h) and the parsers that
// take theirs through it: the worker's job and a benchmark plan. Found by the
// fuzz harnesses (fuzz/regressions/config/): a float where a whole number
// belongs was cast unchecked (1e30 to int is undefined behaviour, 2.5 became
// 2) and an integer out of range wrapped (2^32 + 1 threads became 1).
#include "common/json_number.h"

#include <gtest/gtest.h>

#include "bench/runner.h"
#include "common/error.h"
#include "worker/job.h"

namespace inferbench {
namespace {

using nlohmann::json;

TEST(JsonNumber, TakesOnlyJsonIntegersInRange) {
  EXPECT_EQ(whole_number<int>(json(7)), 7);
  EXPECT_EQ(whole_number<int>(json(-7)), -7);
  EXPECT_EQ(whole_number<std::uint64_t>(json(18446744073709551615ULL)), 18446744073709551615ULL);
  EXPECT_EQ(whole_number<int>(json(2147483648LL)), std::nullopt);
  EXPECT_EQ(whole_number<std::uint64_t>(json(-1)), std::nullopt);
  EXPECT_EQ(whole_number<int>(json(2.5)), std::nullopt);
  EXPECT_EQ(whole_number<int>(json(2.0)), std::nullopt);
  EXPECT_EQ(whole_number<int>(json(1e30)), std::nullopt);
  EXPECT_EQ(whole_number<int>(json("3")), std::nullopt);
  EXPECT_EQ(whole_numbers<int>(json{1, 2, 3}), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(whole_numbers<int>(json{1, 2.5}), std::nullopt);
  EXPECT_EQ(whole_numbers<int>(json(1)), std::nullopt);
}

// The message of the Error `f` throws; fails the test when it throws none or another code.
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

TEST(JsonNumber, WorkerJobRefusesWhatIsNotAWholeNumber) {
  worker::Job job;
  job.backend = "test-fault";
  job.artifact = "/a/model.onnx";
  job.tensors = "/a/tensors";
  job.dir = "/a/w";
  const json good = worker::to_json(job);
  EXPECT_EQ(worker::job_from_json(good).batch, job.batch);

  for (const json& bad : {json(1e30), json(2.5), json(4294967297LL)}) {
    json j = good;
    j["bench"]["batch"] = bad;
    EXPECT_NE(input_error([&] { worker::job_from_json(j); }).find("'batch' must be a whole number"), std::string::npos)
        << bad;
    j = good;
    j["threads"] = bad;
    EXPECT_NE(input_error([&] { worker::job_from_json(j); }).find("'threads' must be a whole number"),
              std::string::npos)
        << bad;
  }
}

TEST(JsonNumber, PlanRefusesWhatIsNotAWholeNumber) {
  EXPECT_EQ(bench::plan_from_json(json{{"batches", {1, 8}}}).batches, (std::vector<int>{1, 8}));
  const std::vector<std::pair<const char*, json>> cases{
      {"batches", {1, 318446744073709551616741824.0}},  // the fuzzer's input
      {"batches", {2.5}},
      {"threads", {4294967297LL}},
      {"cold_runs", 1e30},
      {"concurrency", 2.5},
      {"seed", -1},
      {"memory_bytes", 1.5e9},
  };
  for (const auto& [key, value] : cases) {
    const std::string msg = input_error([&] { bench::plan_from_json(json{{key, value}}); });
    EXPECT_NE(msg.find(std::string("plan key '") + key + "': expected"), std::string::npos) << msg;
    EXPECT_NE(msg.find("whole number"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace inferbench
