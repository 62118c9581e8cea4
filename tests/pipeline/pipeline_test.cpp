// The resumable stages of `inferbench run` (content-hash keys, records,
// failures) and its configuration, on cheap real subcommands (data synth and
// data scan of a few images).
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "common/files.h"
#include "pipeline/run.h"
#include "pipeline/stage.h"
#include "testutil/fixtures.h"

namespace inferbench::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testutil::expect_error;

class PipelineStages : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("inferbench-pipeline-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // synth -> scan, as `inferbench run` chains them.
  std::vector<Stage> stages(int seed) const {
    Stage synth;
    synth.name = "synth";
    synth.title = "synth";
    synth.outputs = {dir_ / "synth"};
    synth.commands = {{{"-q", "data", "synth", "--out", (dir_ / "synth").string(), "--per-class", "3", "--size", "32",
                        "--seed", std::to_string(seed)},
                       dir_ / "logs" / "synth.txt"}};
    Stage scan;
    scan.name = "scan";
    scan.title = "scan";
    scan.inputs = {dir_ / "synth"};
    scan.outputs = {dir_ / "data" / "scan-manifest.csv"};
    scan.commands = {{{"-q", "data", "scan", (dir_ / "synth").string(), "--out", (dir_ / "data").string()},
                      dir_ / "logs" / "scan.txt"}};
    return {synth, scan};
  }

  std::vector<StageResult> run(std::vector<Stage> s, bool force = false) const {
    const Executor exec{INFERBENCH_CLI, dir_ / "state", force, ""};
    return exec.run(s);
  }

  fs::path dir_;
};

std::vector<StageStatus> statuses(const std::vector<StageResult>& r) {
  std::vector<StageStatus> out;
  for (const auto& x : r) out.push_back(x.status);
  return out;
}

TEST_F(PipelineStages, SkipsWhatIsUpToDateAndRedoesWhatChangedDownstream) {
  using enum StageStatus;
  EXPECT_EQ(statuses(run(stages(1))), (std::vector{kDone, kDone}));
  const auto manifest = dir_ / "data" / "scan-manifest.csv";
  const auto written = fs::last_write_time(manifest);
  EXPECT_EQ(statuses(run(stages(1))), (std::vector{kSkipped, kSkipped}));
  EXPECT_EQ(fs::last_write_time(manifest), written) << "a skipped stage must not touch its outputs";

  // A different setting changes the synthetic images, so the scan (whose
  // input they are) runs again too.
  EXPECT_EQ(statuses(run(stages(2))), (std::vector{kDone, kDone}));
  EXPECT_EQ(statuses(run(stages(2))), (std::vector{kSkipped, kSkipped}));

  // An output edited by hand is not trusted: its stage runs again.
  { std::ofstream(manifest, std::ios::app) << "tampered\n"; }
  EXPECT_EQ(statuses(run(stages(2))), (std::vector{kSkipped, kDone}));
  // An input edited by hand: one image changed -> the scan runs again.
  fs::path image;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "synth")) {
    if (e.is_regular_file() && e.path().extension() == ".jpg") image = e.path();
  }
  ASSERT_FALSE(image.empty());
  { std::ofstream(image, std::ios::app) << "x"; }
  // synth's own output changed, so synth is redone; it renders the same
  // images again (same seed), so the scan's input is what it was: skipped.
  EXPECT_EQ(statuses(run(stages(2))), (std::vector{kDone, kSkipped}));
  // --force runs everything again.
  EXPECT_EQ(statuses(run(stages(2), /*force=*/true)), (std::vector{kDone, kDone}));
}

TEST_F(PipelineStages, AFailedOptionalStageStopsOnlyWhatNeedsIt) {
  using enum StageStatus;
  auto s = stages(1);
  s[0].required = false;
  s[0].commands[0].args = {"-q", "data", "scan", (dir_ / "missing").string(), "--out", (dir_ / "x").string()};
  s[1].needs = {"synth"};
  Stage other;
  other.name = "other";
  other.title = "other";
  other.commands = {{{"--version"}, dir_ / "logs" / "version.txt"}};
  s.push_back(other);
  const auto r = run(s);
  EXPECT_EQ(statuses(r), (std::vector{kFailed, kNotRun, kDone}));
  EXPECT_EQ(r[0].exit_code, 3);  // bad input: the missing folder
  EXPECT_NE(r[1].reason.find("synth"), std::string::npos) << r[1].reason;
}

TEST_F(PipelineStages, AFailedRequiredStageEndsTheRunAndWritesNoRecord) {
  using enum StageStatus;
  auto s = stages(1);
  s[1].commands[0].args.push_back("--no-such-flag");
  Stage after;
  after.name = "after";
  after.title = "after";
  after.commands = {{{"--version"}, dir_ / "logs" / "version.txt"}};
  s.push_back(after);
  const auto r = run(s);
  EXPECT_EQ(statuses(r), (std::vector{kDone, kFailed}));
  EXPECT_EQ(r[1].exit_code, 2);  // usage error
  EXPECT_FALSE(fs::exists(dir_ / "state" / "scan.json"));
  EXPECT_TRUE(fs::exists(dir_ / "state" / "synth.json"));
}

TEST_F(PipelineStages, ARetriedAttemptWithTheSameKeyIsResumable) {
  auto s = stages(1);
  s.resize(1);
  s[0].required = false;
  s[0].ok_codes = {};  // every exit counts as a failure: the attempt is "interrupted"
  std::vector<bool> seen;
  s[0].prepare = [&](Stage&, const std::string& key, bool resumable) {
    EXPECT_EQ(key.size(), 32u);
    seen.push_back(resumable);
  };
  run(s);
  run(s);
  s[0].commands[0].args.back() = "7";  // another seed: another key, a fresh start
  run(s);
  EXPECT_EQ(seen, (std::vector<bool>{false, true, false}));
}

TEST_F(PipelineStages, AStageWithNothingToDoFails) {
  Stage s;
  s.name = "empty";
  s.title = "empty";
  s.required = false;
  s.plan = [](Stage&) {};  // finds nothing to run
  std::vector<Stage> v{s};
  const auto r = run(v);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, StageStatus::kFailed);
  EXPECT_NE(r[0].reason.find("nothing to do"), std::string::npos);
}

TEST(PipelineHash, FolderHashDependsOnNamesAndContents) {
  const auto d = fs::temp_directory_path() / "inferbench-hash-test";
  fs::remove_all(d);
  testutil::write_text(d / "a" / "x.txt", "one");
  testutil::write_text(d / "b.txt", "two");
  const auto h = hash_path(d);
  EXPECT_EQ(hash_path(d), h);
  testutil::write_text(d / "b.txt", "twO");
  EXPECT_NE(hash_path(d), h);
  testutil::write_text(d / "b.txt", "two");
  EXPECT_EQ(hash_path(d), h);
  fs::rename(d / "b.txt", d / "c.txt");
  EXPECT_NE(hash_path(d), h) << "a renamed file (a relabelled image) changes the hash";
  expect_error([&] { hash_path(d / "missing"); }, ExitCode::kInput, "missing");
  fs::remove_all(d);
}

TEST(PipelineConfig, FlagsFromJson) {
  EXPECT_EQ(to_flags(json{{"epochs", 10}, {"augment", "light"}, {"zero_init_residual", true}, {"freeze-backbone", false},
                          {"lr", 0.05}, {"batches", {8, 32}}},
                     "t"),
            (std::vector<std::string>{"--augment", "light", "--batches", "8,32", "--epochs", "10", "--lr", "0.05",
                                      "--zero-init-residual"}));
  expect_error([] { to_flags(json{{"epochs", nullptr}}, "models[0].train"); }, ExitCode::kInput,
               "models[0].train.epochs");
  expect_error([] { to_flags(json::array(), "export"); }, ExitCode::kInput, "export");
}

TEST(PipelineConfig, DefaultsAreTheMainJobAndOverlaysMerge) {
  const json d = resolve_config(json::object(), "defaults");
  EXPECT_TRUE(d["data"].is_null());
  ASSERT_EQ(d["models"].size(), 3u);
  EXPECT_EQ(d["models"][2]["model"], "resnet50");
  const json c = resolve_config(json{{"data", "/some/where"}, {"synth", {{"per-class", 5}}}}, "c.json");
  EXPECT_EQ(c["data"], "/some/where");
  EXPECT_EQ(c["synth"]["per-class"], 5);
  EXPECT_EQ(c["synth"]["size"], d["synth"]["size"]) << "keys the overlay does not name keep their defaults";
}

TEST(PipelineConfig, BadConfigsAreRefusedNamingTheKey) {
  expect_error([] { resolve_config(json{{"modles", json::array()}}, "c.json"); }, ExitCode::kInput, "'modles'");
  expect_error([] { resolve_config(json{{"models", json::array()}}, "c.json"); }, ExitCode::kInput, "non-empty");
  expect_error([] { resolve_config(json{{"models", {{{"model", "vgg16"}, {"size", 64}}}}}, "c.json"); },
               ExitCode::kInput, "unknown model 'vgg16'");
  expect_error([] { resolve_config(json{{"models", {{{"model", "resnet50"}, {"size", 8}}}}}, "c.json"); },
               ExitCode::kInput, "size 8 is out of range for resnet50");
  expect_error([] { resolve_config(json{{"models", {{{"model", "resnet50"}}}}}, "c.json"); }, ExitCode::kInput,
               "\"size\"");
  expect_error(
      [] {
        resolve_config(json{{"models", {{{"model", "resnet50"}, {"size", 64}}, {{"model", "resnet50"}, {"size", 32}}}}},
                       "c.json");
      },
      ExitCode::kInput, "listed twice");
  expect_error([] { resolve_config(json{{"models", {{{"model", "resnet50"}, {"size", 64}, {"train", {{"out", "x"}}}}}}}, "c.json"); },
               ExitCode::kInput, "set by `inferbench run`");
  expect_error([] { resolve_config(json{{"bench", {{"tensors", "x"}}}}, "c.json"); }, ExitCode::kInput,
               "bench.tensors");
  expect_error([] { resolve_config(json{{"bench", {{"scenarios", "single-stream"}}}}, "c.json"); }, ExitCode::kInput,
               "scenarios");
  expect_error([] { resolve_config(json{{"bench", {{"warmup", 3}}}}, "c.json"); }, ExitCode::kInput, "'warmup'");
  expect_error([] { resolve_config(json{{"data", 3}}, "c.json"); }, ExitCode::kInput, "\"data\"");
}

}  // namespace
}  // namespace inferbench::pipeline
