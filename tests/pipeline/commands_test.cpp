// The stage command lines of `inferbench run` (pipeline/commands.h): the exact
// arguments of each command for a typical spec (they are part of the stage
// keys, so a change here redoes every stage of an existing out folder), and
// the flags a config may not name because run sets them itself.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"
#include "pipeline/commands.h"
#include "pipeline/run.h"
#include "testutil/fixtures.h"

namespace inferbench::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testutil::expect_error;
using Args = std::vector<std::string>;

TEST(PipelineCommands, DataCommands) {
  EXPECT_EQ(to_args(SynthCommand{"out/synth-fruit", {{"per-class", 400}, {"size", 128}, {"seed", 1}}}),
            (Args{"data", "synth", "--out", "out/synth-fruit", "--per-class", "400", "--seed", "1", "--size", "128"}));
  EXPECT_EQ(to_args(SynthCommand{"out/synth-fruit"}), (Args{"data", "synth", "--out", "out/synth-fruit"}));
  EXPECT_EQ(to_args(ScanCommand{"/data/fruit", "out/data", {{"min-size", 16}}}),
            (Args{"data", "scan", "/data/fruit", "--out", "out/data", "--min-size", "16"}));
  EXPECT_EQ(to_args(SplitCommand{"out/data/scan-manifest.csv", "out/data", {{"seed", 3}, {"val", 0.1}}}),
            (Args{"data", "split", "--manifest", "out/data/scan-manifest.csv", "--out", "out/data", "--seed", "3",
                  "--val", "0.1"}));
  EXPECT_EQ(to_args(TensorsCommand{"out/data/manifest.csv", "test", 64, "imagenet", "out/tensors/test-64-imagenet",
                                   {{"threads", 2}}}),
            (Args{"data", "export-tensors", "--manifest", "out/data/manifest.csv", "--split", "test", "--size", "64",
                  "--normalization", "imagenet", "--out", "out/tensors/test-64-imagenet", "--threads", "2"}));
}

TEST(PipelineCommands, ModelCommands) {
  const json resnet = {{"epochs", 8}, {"augment", "light"}, {"lr", 0.1}, {"batch-size", 64},
                       {"zero-init-residual", true}};
  EXPECT_EQ(to_args(TrainCommand{"out/data/manifest.csv", "resnet50", 64, "out/train/resnet50", resnet}),
            (Args{"train", "--manifest", "out/data/manifest.csv", "--model", "resnet50", "--size", "64", "--out",
                  "out/train/resnet50", "--json", "--augment", "light", "--batch-size", "64", "--epochs", "8", "--lr",
                  "0.1", "--zero-init-residual"}));
  EXPECT_EQ(train_start_args(true), (Args{"--resume"}));
  EXPECT_EQ(train_start_args(false), (Args{"--force"}));
  EXPECT_EQ(to_args(ExportCommand{"out/train/resnet50/model.ckpt", "out/export/resnet50", {{"formats", {"onnx"}}}}),
            (Args{"export", "out/train/resnet50/model.ckpt", "--out", "out/export/resnet50", "--formats", "onnx"}));
  EXPECT_EQ(to_args(VerifyCommand{"out/train/resnet50/model.ckpt", "out/tensors/test-64-imagenet",
                                  "out/export/resnet50", "out/verify/resnet50", json::object()}),
            (Args{"verify", "--checkpoint", "out/train/resnet50/model.ckpt", "--tensors",
                  "out/tensors/test-64-imagenet", "--dir", "out/export/resnet50", "--out", "out/verify/resnet50"}));
}

TEST(PipelineCommands, BenchAndReportCommands) {
  EXPECT_EQ(to_args(BenchCommand{"out/bench/plan-64-imagenet.json", "out/results.db", "out/bench/work"}),
            (Args{"bench", "--plan", "out/bench/plan-64-imagenet.json", "--db", "out/results.db", "--work-dir",
                  "out/bench/work"}));
  EXPECT_EQ(study_args("run-0123456789ab"), (Args{"--study", "run-0123456789ab"}));
  EXPECT_EQ(bench_resume_args(), (Args{"--resume"}));
  EXPECT_EQ(to_args(ReportCommand{"out/results.db", "out/report", {{"title", "Fruit"}}}),
            (Args{"report", "--db", "out/results.db", "--out", "out/report", "--title", "Fruit"}));
}

TEST(PipelineCommands, UserFlagsOfTheWrongTypeNameTheirPlace) {
  expect_error([] { to_args(TrainCommand{"m.csv", "resnet50", 64, "t", {{"epochs", nullptr}}}); }, ExitCode::kInput,
               "models.resnet50.train.epochs");
  expect_error([] { to_args(ExportCommand{"c", "e", json::array()}); }, ExitCode::kInput, "export");
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(PipelineCommands, FlagsRunSetsItself) {
  EXPECT_EQ(flag_sections(), (Args{"synth", "scan", "split", "tensors", "train", "export", "verify", "report"}));
  EXPECT_EQ(sorted(flags_run_sets("synth")), (Args{"out"}));
  EXPECT_EQ(sorted(flags_run_sets("scan")), (Args{"json", "out"}));
  EXPECT_EQ(sorted(flags_run_sets("split")), (Args{"data", "json", "manifest", "out"}));
  // --normalization is given, but follows the models' "train" flags and was
  // never refused in "tensors".
  EXPECT_EQ(sorted(flags_run_sets("tensors")), (Args{"manifest", "out", "size", "split"}));
  EXPECT_EQ(sorted(flags_run_sets("train")), (Args{"force", "json", "manifest", "model", "out", "resume", "size"}));
  EXPECT_EQ(sorted(flags_run_sets("export")), (Args{"json", "out"}));
  EXPECT_EQ(sorted(flags_run_sets("verify")), (Args{"checkpoint", "dir", "json", "out", "tensors"}));
  EXPECT_EQ(sorted(flags_run_sets("report")), (Args{"db", "out", "study"}));
  expect_error([] { flags_run_sets("bench"); }, ExitCode::kInternal, "'bench'");
}

TEST(PipelineCommands, AUserFlagThatRunSetsItselfIsRefused) {
  check_user_flags(json{{"epochs", 3}, {"augment", "light"}}, "train", "models[0].train");  // fine
  check_user_flags(json{{"normalization", "unit"}}, "tensors", "tensors");
  expect_error([] { check_user_flags(json{{"out", "x"}}, "train", "models[0].train"); }, ExitCode::kInput,
               "models[0].train: 'out' is set by `inferbench run` itself");
  expect_error([] { check_user_flags(json{{"--resume", true}}, "train", "t"); }, ExitCode::kInput, "'--resume'");
  expect_error([] { check_user_flags(json{{"work_dir", "w"}, {"json", true}}, "verify", "v"); }, ExitCode::kInput,
               "'json'");
  expect_error([] { check_user_flags(json{{"data", "/d"}}, "split", "s"); }, ExitCode::kInput, "'data'");
  expect_error([] { check_user_flags(json{{"study", "x"}}, "report", "r"); }, ExitCode::kInput, "'study'");
  expect_error([] { check_user_flags(json{{"epochs", nullptr}}, "train", "models[1].train"); }, ExitCode::kInput,
               "models[1].train.epochs");
  // Through the config, as `inferbench run --config` reads it.
  expect_error([] { resolve_config(json{{"scan", {{"json", true}}}}, "c.json"); }, ExitCode::kInput,
               "'c.json': \"scan\": 'json' is set by `inferbench run` itself");
  expect_error([] { resolve_config(json{{"tensors", {{"size", 32}}}}, "c.json"); }, ExitCode::kInput, "'size'");
}

TEST(PipelineCommands, TrainNormalization) {
  EXPECT_EQ(train_normalization(json::object()), "imagenet");
  EXPECT_EQ(train_normalization(json{{"normalization", "unit"}}), "unit");
  EXPECT_EQ(train_normalization(json{{"--normalization", "symmetric"}}), "symmetric");
}

}  // namespace
}  // namespace inferbench::pipeline
