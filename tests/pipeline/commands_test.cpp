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
  // The INT8 calibration images: a seeded draw of the training split.
  EXPECT_EQ(to_args(TensorsCommand{"out/data/manifest.csv", "train", 64, "imagenet",
                                   "out/tensors/calibration-64-imagenet", json::object(), 300, 7}),
            (Args{"data", "export-tensors", "--manifest", "out/data/manifest.csv", "--split", "train", "--size", "64",
                  "--normalization", "imagenet", "--out", "out/tensors/calibration-64-imagenet", "--sample", "300",
                  "--seed", "7"}));
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
  EXPECT_EQ(to_args(ExportCommand{"out/train/resnet50/model.ckpt", "out/export/resnet50", {{"formats", {"onnx"}}}, {}}),
            (Args{"export", "out/train/resnet50/model.ckpt", "--out", "out/export/resnet50", "--json", "--formats",
                  "onnx"}));
  EXPECT_EQ(to_args(ExportCommand{"out/train/resnet50/model.ckpt", "out/export/resnet50",
                                  {{"calibration-count", 100}}, "out/tensors/calibration-64-imagenet"}),
            (Args{"export", "out/train/resnet50/model.ckpt", "--out", "out/export/resnet50", "--json",
                  "--calibration", "out/tensors/calibration-64-imagenet", "--calibration-count", "100"}));
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
  expect_error([] { to_args(ExportCommand{"c", "e", json::array(), {}}); }, ExitCode::kInput, "export");
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
  EXPECT_EQ(sorted(flags_run_sets("tensors")), (Args{"manifest", "out", "sample", "seed", "size", "split"}));
  EXPECT_EQ(sorted(flags_run_sets("train")), (Args{"force", "json", "manifest", "model", "out", "resume", "size"}));
  EXPECT_EQ(sorted(flags_run_sets("export")), (Args{"calibration", "json", "out"}));
  EXPECT_EQ(sorted(flags_run_sets("verify")), (Args{"checkpoint", "dir", "json", "out", "tensors"}));
  EXPECT_EQ(sorted(flags_run_sets("report")), (Args{"db", "out", "study"}));
  expect_error([] { flags_run_sets("bench"); }, ExitCode::kInternal, "'bench'");
}

// Whether the main job calibrates INT8, and how many images of which seed
// its calibration stage draws, from the export section's own flags.
TEST(PipelineCommands, CalibrationFollowsTheExportFlags) {
  auto wanted = calibration_wanted(json::object(), "export");
  EXPECT_TRUE(wanted.wanted);
  EXPECT_EQ(wanted.count, 300u);
  EXPECT_EQ(wanted.seed, 1u);
  EXPECT_FALSE(calibration_wanted(json{{"format", "onnx,openvino"}}, "export").wanted);
  EXPECT_FALSE(calibration_wanted(json{{"format", {"onnx", "torchscript"}}}, "export").wanted);
  EXPECT_TRUE(calibration_wanted(json{{"format", "onnx,onnx-int8"}}, "export").wanted);
  EXPECT_TRUE(calibration_wanted(json{{"--format", {"all"}}}, "export").wanted);
  wanted = calibration_wanted(json{{"calibration_count", "0"}, {"calibration-seed", 9}}, "export");
  EXPECT_EQ(wanted.count, 0u);  // the whole training split
  EXPECT_EQ(wanted.seed, 9u);
  expect_error([] { calibration_wanted(json{{"calibration-count", -3}}, "'c.json': export"); }, ExitCode::kInput,
               "'c.json': export.calibration-count: expected a whole number from 0 to 1073741824, got -3");
  expect_error([] { calibration_wanted(json{{"calibration-seed", 1.5}}, "export"); }, ExitCode::kInput,
               "export.calibration-seed");
  expect_error([] { check_user_flags(json{{"calibration", "/elsewhere"}}, "export", "export"); }, ExitCode::kInput,
               "'calibration' is set by `inferbench run` itself");
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

// A model's "train": {"seeds": N} is train's --seeds N: part of the
// arguments, so of the stage key (another N trains again); 1 by default,
// rendering nothing, so the key of a study of before --seeds is unchanged.
TEST(PipelineCommands, TrainSeeds) {
  const json two = {{"epochs", 8}, {"seeds", 2}};
  const auto with = to_args(TrainCommand{"m.csv", "resnet50", 64, "out/train/resnet50", two});
  const auto without = to_args(TrainCommand{"m.csv", "resnet50", 64, "out/train/resnet50", {{"epochs", 8}}});
  EXPECT_EQ(with, (Args{"train", "--manifest", "m.csv", "--model", "resnet50", "--size", "64", "--out",
                        "out/train/resnet50", "--json", "--epochs", "8", "--seeds", "2"}));
  EXPECT_NE(with, without);
  EXPECT_EQ(train_seeds(json::object(), "models.resnet50.train"), 1);
  EXPECT_EQ(train_seeds(two, "models.resnet50.train"), 2);
  EXPECT_EQ(train_seeds(json{{"--seeds", "3"}}, "w"), 3);
  for (const json& bad : {json(0), json(-2), json(1.5), json("two"), json(true), json(1001), json("")}) {
    expect_error([&] { (void)train_seeds(json{{"seeds", bad}}, "models.resnet50.train"); }, ExitCode::kInput,
                 "models.resnet50.train.seeds: expected a whole number of seeds from 1 to 1000, got " + bad.dump());
  }
  // Refused with the config, before anything runs.
  expect_error(
      [] {
        resolve_config(json{{"models", {{{"model", "resnet50"}, {"size", 64}, {"train", {{"seeds", 0}}}}}}}, "c.json");
      },
      ExitCode::kInput, "'c.json': models[0].train.seeds: expected a whole number of seeds");
  EXPECT_NO_THROW(
      resolve_config(json{{"models", {{{"model", "resnet50"}, {"size", 64}, {"train", {{"seeds", 3}}}}}}}, "c.json"));
}

// The end-of-run training table: one seed as before; several as mean ± sample
// std [min-max] from the seeds summary train --json prints (train/seeds.h).
TEST(PipelineCommands, TrainingTableShowsTheSpreadOfSeveralSeeds) {
  testutil::TempDir d;
  const json models = {{{"model", "mobilenet_v2"}, {"size", 64}}, {{"model", "resnet50"}, {"size", 64}}};
  const json one = {{"test", {{"top1", 0.898}, {"top5", 0.995}, {"macro_f1", 0.899}}}, {"seconds", 173.4}};
  testutil::write_text(d / "train/mobilenet_v2.json", one.dump());
  EXPECT_EQ(training_table(d.path(), models),
            "Training (test split):\n"
            "model              size    top-1    top-5  macro-F1   train s\n"
            "mobilenet_v2         64    89.8%    99.5%     0.899       173\n");

  const auto stat = [](double mean, double sd, double lo, double hi) {
    return json{{"mean", mean}, {"std", sd}, {"min", lo}, {"max", hi}};
  };
  const json three = {{"test", {{"top1", 0.879}, {"top5", 1.0}, {"macro_f1", 0.877}}},
                      {"seconds", 560.0},
                      {"seeds",
                       {{"n", 3},
                        {"seconds", 1650.0},
                        {"metrics",
                         {{"top1", stat(0.871, 0.012, 0.857, 0.881)},
                          {"top5", stat(0.998, 0.002, 0.995, 1.0)},
                          {"macro_f1", stat(0.869, 0.013, 0.855, 0.880)}}}}}};
  testutil::write_text(d / "train/resnet50.json", three.dump());
  const std::string t = training_table(d.path(), models);
  EXPECT_NE(t.find("the first seed's checkpoint is the one exported and benchmarked"), std::string::npos) << t;
  EXPECT_NE(t.find("\nmobilenet_v2         64     1"), std::string::npos) << t;
  EXPECT_NE(t.find("89.8%"), std::string::npos) << t;
  EXPECT_NE(t.find("\nresnet50             64     3"), std::string::npos) << t;
  EXPECT_NE(t.find("87.1% ± 1.2 [85.7-88.1]"), std::string::npos) << t;
  EXPECT_NE(t.find("0.869 ± 0.013 [0.855-0.880]"), std::string::npos) << t;
  EXPECT_NE(t.find(" 1650\n"), std::string::npos) << t;
}

}  // namespace
}  // namespace inferbench::pipeline
