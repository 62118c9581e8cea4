// `inferbench run` end to end on a tiny synthetic set at a tiny image size:
// every stage leaves its outputs; a run killed between two stages continues
// where it stopped; the report opens in a real browser.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "common/files.h"
#include "results/store.h"
#include "testutil/browser.h"
#include "testutil/fixtures.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testutil::run_cli;

// Three architectures at 32x32, one epoch each, 30 images per class, and a
// benchmark of one scenario with a short timing rule: minutes, not the
// 20 of the main job. ResNet50 starts its residual blocks as the identity,
// as the main job does: without it one epoch leaves logits over a range of
// 4e5, beyond FP16's largest number (65504), and its FP16 variants then give
// inf (which verify rightly fails).
json tiny_config() {
  json train = {{"epochs", 1}, {"threads", 1}, {"augment", "light"}};
  json resnet = train;
  resnet["zero-init-residual"] = true;
  // FP32 and BF16 asked outright, not "auto", so the test asks the same of every CPU.
  // Every format but TensorFlow's FP16 and INT8 .tflite (each another
  // converter run of about 10 s per model; their own test is tensorflow_cli_test).
  return {{"synth", {{"per-class", 30}, {"size", 48}}},
          {"export", {{"format", "torchscript,onnx,onnx-fp16,openvino,openvino-fp16,onnx-int8,openvino-int8,savedmodel,tflite"}}},
          {"verify", {{"precision", "fp32,bf16"}}},
          {"models",
           {{{"model", "mobilenet_v2"}, {"size", 32}, {"train", train}},
            {{"model", "efficientnet_b0"}, {"size", 32}, {"train", train}},
            {{"model", "resnet50"}, {"size", 32}, {"train", resnet}}}},
          {"bench",
           {{"scenarios", {"single-stream"}},
            {"threads", {1}},
            {"precisions", {"fp32", "bf16"}},
            {"timing",
             {{"warmup_count", 2}, {"warmup_seconds", 0}, {"min_count", 30}, {"min_seconds", 0}, {"max_seconds", 1}}}}}};
}

const std::vector<std::string> kModels{"mobilenet_v2", "efficientnet_b0", "resnet50"};

std::vector<std::string> stage_names() {
  std::vector<std::string> s{"synth", "scan", "split", "tensors-32-imagenet", "calibration-32-imagenet"};
  for (const auto& m : kModels) {
    for (const char* st : {"train-", "export-", "verify-"}) s.push_back(st + m);
  }
  s.push_back("bench");
  s.push_back("report");
  return s;
}

class RunCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("inferbench-run-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    testutil::write_text(dir_ / "tiny.json", tiny_config().dump(2));
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  fs::path dir_;
};

// Which stages a run's stderr says it skipped as up to date.
std::set<std::string> skipped_titles(const std::string& err) {
  std::set<std::string> out;
  std::regex re(R"(\[run \d+/\d+\] (.*): up to date, skipped)");
  for (std::sregex_iterator it(err.begin(), err.end(), re), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

TEST_F(RunCli, KilledBetweenStagesThenResumedProducesEveryOutput) {
  const fs::path out = dir_ / "out";
  const std::vector<std::string> args{"run", "--config", (dir_ / "tiny.json").string(), "--out", out.string()};

  // 1. Killed (SIGKILL, as `kill -9`) right after the second model's export.
  ::setenv("INFERBENCH_RUN_KILL_AFTER", "export-efficientnet_b0", 1);
  const auto killed = run_cli(args);
  ::unsetenv("INFERBENCH_RUN_KILL_AFTER");
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  EXPECT_TRUE(fs::exists(out / "stages" / "export-efficientnet_b0.json"));
  EXPECT_FALSE(fs::exists(out / "stages" / "verify-efficientnet_b0.json"));
  EXPECT_FALSE(fs::exists(out / "results.db"));
  const auto ckpt_time = fs::last_write_time(out / "train" / "mobilenet_v2" / "model.ckpt");

  // 2. The same command again: what finished is skipped, the rest runs.
  const auto resumed = run_cli(args);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto skipped = skipped_titles(resumed.err);
  EXPECT_TRUE(skipped.count("synthesise the built-in fruit dataset")) << resumed.err;
  EXPECT_TRUE(skipped.count("train mobilenet_v2 at 32x32 (1 epochs)")) << resumed.err;
  EXPECT_TRUE(skipped.count("export efficientnet_b0 to every format")) << resumed.err;
  EXPECT_FALSE(skipped.count("verify every export of efficientnet_b0 in every backend")) << resumed.err;
  EXPECT_FALSE(skipped.count("train resnet50 at 32x32 (1 epochs)")) << resumed.err;
  EXPECT_EQ(fs::last_write_time(out / "train" / "mobilenet_v2" / "model.ckpt"), ckpt_time);

  // 3. Every stage left its record and its outputs.
  for (const auto& s : stage_names()) EXPECT_TRUE(fs::exists(out / "stages" / (s + ".json"))) << s;
  EXPECT_TRUE(fs::exists(out / "data" / "manifest.csv"));
  EXPECT_TRUE(fs::exists(out / "tensors" / "test-32-imagenet" / "meta.json"));
  // The INT8 calibration images: training images only (a split of 30 per
  // class has fewer than the 300 asked, so all of them), none of the test split.
  const json cal = json::parse(read_file_text(out / "tensors" / "calibration-32-imagenet" / "meta.json"));
  const json test = json::parse(read_file_text(out / "tensors" / "test-32-imagenet" / "meta.json"));
  EXPECT_EQ(cal["split"], "train");
  EXPECT_GT(cal["count"].get<int>(), 0);
  EXPECT_LE(cal["count"].get<int>(), 300);
  std::set<std::string> test_images;
  for (const auto& img : test["images"]) test_images.insert(img["path"].get<std::string>());
  for (const auto& img : cal["images"]) EXPECT_FALSE(test_images.count(img["path"].get<std::string>())) << img;
  for (const auto& m : kModels) {
    EXPECT_TRUE(fs::exists(out / "train" / m / "model.ckpt")) << m;
    for (const char* ext : {".pt", ".onnx", "-fp16.onnx", ".xml", "-fp16.xml", "-int8.onnx", ".tflite"}) {
      EXPECT_TRUE(fs::exists(out / "export" / m / (m + ext))) << m << ext;
    }
    EXPECT_TRUE(fs::is_regular_file(out / "export" / m / (m + ".savedmodel") / "saved_model.pb")) << m;
    const json v = json::parse(read_file_text(out / "verify" / m / "verify.json"));
    EXPECT_FALSE(v.dump().empty());
  }
  // One study holds every model's runs; the report names it.
  results::Store store = results::Store::open(out / "results.db");
  const auto studies = store.studies();
  ASSERT_EQ(studies.size(), 1u);
  std::set<std::string> models_benchmarked, backends_ok;
  std::map<std::string, std::set<std::string>> int8_executed;  // backend -> what its INT8 runs executed
  std::set<std::string> int8_ok;  // model, backend and file of each INT8 row that ran
  std::set<std::string> bf16_ok;  // model, backend and file of each BF16 row that ran
  std::string not_ok;  // for the failure message: what went wrong where
  for (const auto& r : store.runs(studies[0].id)) {
    if (r.status == results::RunStatus::kOk && r.result.precision == "bf16") {
      bf16_ok.insert(r.result.model + " " + r.result.backend + " " + r.result.artifact);
      EXPECT_TRUE(r.result.summary.contains("verify")) << "no verify figures of its own: " << r.result.artifact;
    }
    if (r.status == results::RunStatus::kOk && r.result.precision == "int8") {
      const json& e = r.result.summary.contains("executed") ? r.result.summary["executed"] : json();
      int8_executed[r.result.backend].insert(e.is_object() ? e.value("precision", "?") : "none");
      int8_ok.insert(r.result.model + " " + r.result.backend + " " + fs::path(r.result.artifact).filename().string());
    }
    if (r.status != results::RunStatus::kOk) {
      not_ok += fmt::format("{} {} {}: {} {}\n", r.result.artifact, r.result.backend, r.result.scenario,
                            results::to_string(r.status), r.reason.substr(0, 300));
    }
    if (r.status == results::RunStatus::kOk) {
      models_benchmarked.insert(r.result.model);
      backends_ok.insert(r.result.backend);
      EXPECT_FALSE(r.samples.empty());
      EXPECT_EQ(r.result.count, static_cast<std::int64_t>(r.samples.size()));
    }
  }
  EXPECT_EQ(models_benchmarked, (std::set<std::string>(kModels.begin(), kModels.end())));
  EXPECT_TRUE(backends_ok.count("libtorch") && backends_ok.count("onnxruntime"))
      << "ok runs in: " << backends_ok.size() << " backends; the others:\n" << not_ok;
  // TensorFlow's formats in the matrix: every model's SavedModel in the TF C API
  // backend and in OpenVINO, its .tflite in LiteRT and in OpenVINO.
  std::set<std::string> tf_ok;
  for (const auto& r : store.runs(studies[0].id)) {
    if (r.status == results::RunStatus::kOk && (r.result.artifact.find(".savedmodel") != std::string::npos ||
                                                r.result.artifact.find(".tflite") != std::string::npos)) {
      tf_ok.insert(r.result.model + " " + r.result.backend + " " + fs::path(r.result.artifact).filename().string());
    }
  }
  for (const auto& m : kModels) {
    EXPECT_TRUE(tf_ok.count(m + " tensorflow " + m + ".savedmodel")) << m << ":\n" << not_ok;
    EXPECT_TRUE(tf_ok.count(m + " openvino " + m + ".savedmodel")) << m << ":\n" << not_ok;
    EXPECT_TRUE(tf_ok.count(m + " openvino " + m + ".tflite")) << m << ":\n" << not_ok;
    EXPECT_TRUE(tf_ok.count(m + " litert " + m + ".tflite")) << m << ":\n" << not_ok;
  }
  // The precision axis: every model's INT8 export measured in ONNX Runtime
  // and OpenVINO, and each of them ran integer kernels (a fallback to float
  // is a failed run, not an ok one).
  for (const char* backend : {"onnxruntime", "openvino"}) {
    EXPECT_FALSE(int8_executed[backend].empty()) << backend << " ran no INT8 export:\n" << not_ok;
    for (const auto& p : int8_executed[backend]) EXPECT_TRUE(p == "int8" || p == "mixed") << backend << ": " << p;
  }
  // Both quantizers' files: ONNX Runtime's QDQ ONNX and NNCF's IR, for every model.
  for (const auto& m : kModels) {
    EXPECT_TRUE(int8_ok.count(m + " onnxruntime " + m + "-int8.onnx")) << m << ":\n" << not_ok;
    EXPECT_TRUE(int8_ok.count(m + " openvino " + m + "-int8.xml")) << m << ":\n" << not_ok;
  }
  // The compute precisions: each model's checkpoint in LibTorch and its IR in OpenVINO, asked for BF16.
  for (const auto& m : kModels) {
    EXPECT_TRUE(bf16_ok.count(m + " libtorch model.ckpt")) << m << ":\n" << not_ok;
    EXPECT_TRUE(bf16_ok.count(m + " openvino " + m + ".xml")) << m << ":\n" << not_ok;
  }
  EXPECT_EQ(bf16_ok.size(), 2 * kModels.size());  // the other formats run in their own precision only
  EXPECT_EQ(read_file_text(out / "bench" / "study.txt"), studies[0].name + "\n");
  for (const char* f : {"report.html", "summary.md", "results.csv"}) {
    EXPECT_TRUE(fs::exists(out / "report" / f)) << f;
  }
  // The terminal summary: the training table and the report's best-per-model table.
  EXPECT_NE(resumed.out.find("Training (test split):"), std::string::npos) << resumed.out;
  for (const auto& m : kModels) EXPECT_NE(resumed.out.find(m), std::string::npos) << m;
  const json record = json::parse(read_file_text(out / "run.json"));
  EXPECT_EQ(record["exit_code"], 0);

  // The report opens in a real browser with every chart drawn.
  if (const std::string chromium = testutil::find_chromium(); !chromium.empty()) {
    int status = 0;
    const std::string dom = testutil::headless_chromium(chromium, out / "report" / "report.html", dir_ / "chromium",
                                                        "--dump-dom", status);
    ASSERT_EQ(status, 0) << read_file_text(dir_ / "chromium" / "stderr");
    const std::string expected = testutil::report_status(dom, "data-charts-expected");
    EXPECT_NE(expected, "(missing)");
    EXPECT_NE(expected, "0");
    EXPECT_EQ(testutil::report_status(dom, "data-charts-rendered"), expected);
    EXPECT_EQ(testutil::report_status(dom, "data-errors"), "");
  } else {
    ADD_FAILURE() << "Chromium is not installed: run scripts/setup.sh (it installs Debian's chromium)";
  }

  // 4. A third run has nothing to do but the report (whose input, the
  // database, is unchanged, so it is skipped too).
  const auto again = run_cli(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(skipped_titles(again.err).size(), stage_names().size()) << again.err;
}

TEST_F(RunCli, BadInputsGetClearErrors) {
  auto missing = run_cli({"run", "--data", (dir_ / "nowhere").string(), "--out", (dir_ / "o").string()});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("nowhere"), std::string::npos) << missing.err;

  testutil::write_text(dir_ / "bad.json", R"({"models": [{"model": "resnet50", "size": 16}]})");
  auto small = run_cli({"run", "--config", (dir_ / "bad.json").string(), "--print-config"});
  EXPECT_EQ(small.exit_code, 3);
  EXPECT_NE(small.err.find("size 16 is out of range for resnet50"), std::string::npos) << small.err;

  testutil::write_text(dir_ / "broken.json", "{\"models\": [");
  auto broken = run_cli({"run", "--config", (dir_ / "broken.json").string()});
  EXPECT_EQ(broken.exit_code, 3);
  EXPECT_NE(broken.err.find("broken.json"), std::string::npos) << broken.err;

  // --print-config shows the effective study: defaults with the overlay merged in.
  auto printed = run_cli({"run", "--config", (dir_ / "tiny.json").string(), "--print-config"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  const json c = json::parse(printed.out);
  EXPECT_EQ(c["synth"]["per-class"], 30);
  EXPECT_EQ(c["synth"]["seed"], 1);  // a default the overlay does not name
  EXPECT_EQ(c["models"].size(), 3u);
}

TEST_F(RunCli, AFailingModelDoesNotEndTheStudy) {
  // One model's training fails when its stage runs (weights to start from that do not
  // exist: the config's schema checks types and ranges before anything runs, files
  // only where the stage runs): its export and verify are not run, the other model is
  // trained, benchmarked and reported, and the run says what did not finish (exit 6).
  json c = tiny_config();
  c["models"] = {{{"model", "mobilenet_v2"}, {"size", 32}, {"train", {{"epochs", 1}, {"threads", 1}}}},
                 {{"model", "resnet50"}, {"size", 32}, {"train", {{"epochs", 1}, {"init-from", (dir_ / "no-such-weights.pth").string()}}}}};
  testutil::write_text(dir_ / "one-bad.json", c.dump());
  const auto r = run_cli({"run", "--config", (dir_ / "one-bad.json").string(), "--out", (dir_ / "out").string()});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.out.find("train-resnet50: failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("export-resnet50: not run"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir_ / "out" / "report" / "summary.md"));
  results::Store store = results::Store::open(dir_ / "out" / "results.db");
  ASSERT_EQ(store.studies().size(), 1u);
  for (const auto& run : store.runs(store.studies()[0].id)) EXPECT_EQ(run.result.model, "mobilenet_v2");
}

// The INT8 quantizer crashes in the main job: the export stage finishes with
// the other formats (exit 6 of `export`), they are verified and benchmarked,
// and the run ends with 6, naming the stage and the format that failed.
TEST_F(RunCli, ACrashingQuantizerCostsOnlyTheInt8Variant) {
  json c = tiny_config();
  c["models"] = {{{"model", "mobilenet_v2"}, {"size", 32}, {"train", {{"epochs", 1}, {"threads", 1}}}}};
  c["export"] = {{"format", "onnx,onnx-int8"}, {"calibration-count", 20}};
  c["bench"]["backends"] = {"onnxruntime"};
  testutil::write_text(dir_ / "crash.json", c.dump());
  const fs::path crash = dir_ / "crashing-python";
  testutil::write_text(crash, "#!/bin/sh\nkill -SEGV $$\n");
  fs::permissions(crash, fs::perms::owner_all);
  const fs::path out = dir_ / "out";
  ::setenv("INFERBENCH_QUANTIZE_PYTHON", crash.c_str(), 1);
  const auto r = run_cli({"run", "--config", (dir_ / "crash.json").string(), "--out", out.string()});
  ::unsetenv("INFERBENCH_QUANTIZE_PYTHON");
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.out.find("export-mobilenet_v2: some formats failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("onnx-int8: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exited with status 139"), std::string::npos) << r.out;
  // 20 training images drawn for it all the same.
  const json cal = json::parse(read_file_text(out / "tensors" / "calibration-32-imagenet" / "meta.json"));
  EXPECT_EQ(cal["count"], 20);
  EXPECT_EQ(cal["sample"]["seed"], 1);
  EXPECT_TRUE(fs::exists(out / "verify" / "mobilenet_v2" / "verify.json"));
  EXPECT_FALSE(fs::exists(out / "export" / "mobilenet_v2" / "mobilenet_v2-int8.onnx"));
  results::Store store = results::Store::open(out / "results.db");
  ASSERT_EQ(store.studies().size(), 1u);
  int ok = 0;
  for (const auto& run : store.runs(store.studies()[0].id)) {
    EXPECT_EQ(run.result.artifact.find("int8"), std::string::npos) << run.result.artifact;
    ok += run.status == results::RunStatus::kOk;
  }
  EXPECT_GT(ok, 0);
  const json record = json::parse(read_file_text(out / "run.json"));
  EXPECT_EQ(record["exit_code"], 6);

  // With the quantizer back, the same command retries that export (a record
  // of a partial stage is not up to date) and the INT8 file is written,
  // verified and benchmarked; training is not redone.
  const auto again = run_cli({"run", "--config", (dir_ / "crash.json").string(), "--out", out.string()});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("train mobilenet_v2 at 32x32 (1 epochs): up to date, skipped"), std::string::npos)
      << again.err;
  EXPECT_EQ(again.err.find("export mobilenet_v2 to every format: up to date"), std::string::npos) << again.err;
  EXPECT_TRUE(fs::exists(out / "export" / "mobilenet_v2" / "mobilenet_v2-int8.onnx"));
  bool int8_ok = false;
  results::Store after = results::Store::open(out / "results.db");
  for (const auto& s : after.studies()) {
    for (const auto& run : after.runs(s.id)) {
      int8_ok = int8_ok || (run.result.precision == "int8" && run.status == results::RunStatus::kOk);
    }
  }
  EXPECT_TRUE(int8_ok);
}

// A model's "train": {"seeds": 2}: two checkpoints (seeds 1 and 2), the
// first seed's the one exported and benchmarked, the training table with the
// spread; the seed count is in the train stage's key, so the same config is
// up to date on a re-run.
TEST_F(RunCli, SeveralSeedsTrainACheckpointEachAndTheFirstIsBenchmarked) {
  json c = tiny_config();
  c["models"] = {{{"model", "mobilenet_v2"},
                  {"size", 32},
                  {"train", {{"epochs", 1}, {"threads", 1}, {"augment", "light"}, {"seeds", 2}}}}};
  c["export"] = {{"format", "onnx"}};
  testutil::write_text(dir_ / "seeds.json", c.dump());
  const fs::path out = dir_ / "out";
  const std::vector<std::string> args{"run", "--config", (dir_ / "seeds.json").string(), "--out", out.string()};
  const auto r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path tdir = out / "train" / "mobilenet_v2";
  EXPECT_NE(r.err.find("train mobilenet_v2 at 32x32 (1 epochs, 2 seeds)"), std::string::npos) << r.err;
  const json seeds = json::parse(read_file_text(tdir / "seeds.json"));
  EXPECT_EQ(seeds["seeds"], json::array({1, 2}));
  const fs::path dirs[] = {tdir, tdir / "seed-2"};
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(seeds["runs"][i]["dir"], dirs[i].string());
    EXPECT_TRUE(fs::exists(dirs[i] / "model.ckpt")) << dirs[i];
    const json eval = json::parse(read_file_text(dirs[i] / "eval.json"));
    EXPECT_EQ(seeds["runs"][i]["top1"], eval["test"]["top1"]) << dirs[i];
  }
  // The stage's stdout (train --json) has the summary; the table shows it.
  const json result = json::parse(read_file_text(out / "train" / "mobilenet_v2.json"));
  EXPECT_EQ(result["seeds"], seeds);
  EXPECT_NE(r.out.find("over seeds: mean ± sample std [min-max]; the first seed's checkpoint is the one exported"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\nmobilenet_v2         32     2"), std::string::npos) << r.out;
  // Only the first seed's checkpoint (and its exports) were benchmarked.
  const json plan = json::parse(read_file_text(out / "bench" / "plan-32-imagenet.json"));
  ASSERT_FALSE(plan["artifacts"].empty());
  for (const auto& a : plan["artifacts"]) EXPECT_EQ(a.get<std::string>().find("seed-2"), std::string::npos) << a;
  EXPECT_NE(std::find(plan["artifacts"].begin(), plan["artifacts"].end(), (tdir / "model.ckpt").string()),
            plan["artifacts"].end());

  const auto again = run_cli(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(skipped_titles(again.err).count("train mobilenet_v2 at 32x32 (1 epochs, 2 seeds)")) << again.err;
}

}  // namespace
}  // namespace inferbench
