// `inferbench export`, `verify` and `describe` end to end through the real
// binary: every format written with its sidecar, every artifact verified in its
// own worker against the LibTorch reference, a wrong artifact flagged (exit 5),
// a crashing worker recorded while the other results are kept (exit 6).
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "common/files.h"
#include "common/hash.h"
#include "data/manifest.h"
#include "data/tensor_file.h"
#include "testutil/checkpoint_fixture.h"
#include "testutil/fixtures.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;
using testutil::run_cli;

class ExportVerifyCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testutil::TempDir();
    testutil::CheckpointSpec spec;
    spec.width_mult = 0.25;
    spec.image_size = 32;
    checkpoint_ = testutil::make_checkpoint(dir_->path() / "a", spec);
    spec.seed = 99;  // same architecture, other weights
    other_ = testutil::make_checkpoint(dir_->path() / "b", spec);
    tensors_ = testutil::write_split_tensors(dir_->path() / "split", 20, 32, 3);
  }
  static void TearDownTestSuite() { delete dir_; }

  static nlohmann::json verify_json(const fs::path& out) {
    return nlohmann::json::parse(read_file_text(out / "verify.json"));
  }

  static testutil::TempDir* dir_;
  static fs::path checkpoint_, other_, tensors_;
};
testutil::TempDir* ExportVerifyCli::dir_ = nullptr;
fs::path ExportVerifyCli::checkpoint_, ExportVerifyCli::other_, ExportVerifyCli::tensors_;

TEST_F(ExportVerifyCli, ExportsEveryAvailableFormatAndVerifiesThem) {
  const fs::path out = dir_->path() / "export";
  auto r = run_cli({"--quiet", "export", checkpoint_.string(), "--out", out.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto written = nlohmann::json::parse(r.out);
  int ok = 0;
  for (const auto& w : written) {
    if (w["status"] != "ok") continue;
    ++ok;
    const fs::path p = w["path"].get<std::string>();
    EXPECT_TRUE(fs::exists(p)) << p;
    const auto side = nlohmann::json::parse(read_file_text(p.string() + ".json"));
    EXPECT_EQ(side["classes"], (nlohmann::json{"class0", "class1", "class2"}));
    EXPECT_EQ(side["input"]["height"], 32);
    EXPECT_EQ(side["source"]["folded_batch_norms"].get<int>(), 52);
  }
  EXPECT_GE(ok, 2) << r.err;  // TorchScript and ONNX at least (LibTorch and libonnx are required by the tests)

  const fs::path vout = dir_->path() / "verify";
  r = run_cli({"--quiet", "verify", "--checkpoint", checkpoint_.string(), "--tensors", tensors_.string(), "--dir",
               out.string(), "--backends", "torchscript,onnxruntime,openvino", "--out", vout.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto v = verify_json(vout);
  EXPECT_EQ(v["count"], 20);
  int passed = 0;
  for (const auto& row : v["results"]) {
    if (row["status"] == "unavailable") continue;
    EXPECT_EQ(row["status"], "pass") << row.dump();
    EXPECT_GE(row["agreement"].get<double>(), 0.999);
    ++passed;
  }
  EXPECT_GE(passed, 1);
  EXPECT_NE(r.out.find("pass"), std::string::npos) << r.out;
}

TEST_F(ExportVerifyCli, AnArtifactOfOtherWeightsFailsVerification) {
  const fs::path out = dir_->path() / "export-other";
  auto r = run_cli({"--quiet", "export", other_.string(), "--format", "torchscript", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path vout = dir_->path() / "verify-other";
  r = run_cli({"--quiet", "verify", "--checkpoint", checkpoint_.string(), "--tensors", tensors_.string(),
               (out / "mobilenet_v2.pt").string(), "--backends", "torchscript", "--out", vout.string()});
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL"), std::string::npos) << r.out;
  const auto v = verify_json(vout);
  ASSERT_EQ(v["results"].size(), 1U);
  EXPECT_EQ(v["results"][0]["status"], "FAIL");
  EXPECT_NE(v["results"][0]["reason"].get<std::string>().find("max |diff|"), std::string::npos);
}

TEST_F(ExportVerifyCli, ACrashingWorkerIsRecordedAndTheOthersKept) {
  const fs::path out = dir_->path() / "export-ts";
  auto r = run_cli({"--quiet", "export", checkpoint_.string(), "--format", "torchscript", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  setenv("INFERBENCH_TEST_BACKENDS", "1", 1);
  const fs::path vout = dir_->path() / "verify-crash";
  r = run_cli({"--quiet", "verify", "--checkpoint", checkpoint_.string(), "--tensors", tensors_.string(), "--dir",
               out.string(), "--backends", "test-fault,torchscript", "--option", "test-fault:fault=crash", "--out",
               vout.string()});
  unsetenv("INFERBENCH_TEST_BACKENDS");
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  const auto v = verify_json(vout);
  ASSERT_EQ(v["results"].size(), 2U);
  for (const auto& row : v["results"]) {
    if (row["backend"] == "test-fault") {
      EXPECT_EQ(row["status"], "crashed");
      EXPECT_NE(row["reason"].get<std::string>().find("signal 11"), std::string::npos);
    } else {
      EXPECT_EQ(row["status"], "pass") << row.dump();
    }
  }
}

TEST_F(ExportVerifyCli, DescribeMakesAForeignArtifactVerifiable) {
  const fs::path out = dir_->path() / "export-describe";
  auto r = run_cli({"--quiet", "export", checkpoint_.string(), "--format", "torchscript", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path foreign = dir_->path() / "foreign" / "model.pt";
  fs::create_directories(foreign.parent_path());
  fs::copy_file(out / "mobilenet_v2.pt", foreign);
  r = run_cli({"--quiet", "describe", foreign.string(), "--from-tensors", tensors_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto side = nlohmann::json::parse(read_file_text(foreign.string() + ".json"));
  EXPECT_EQ(side["input"]["layout"], "NCHW");
  EXPECT_EQ(side["input"]["height"], 32);
  r = run_cli({"--quiet", "describe", foreign.string(), "--size", "64"});
  EXPECT_EQ(r.exit_code, 2) << r.err;  // the sidecar exists
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  r = run_cli({"--quiet", "verify", "--checkpoint", checkpoint_.string(), "--tensors", tensors_.string(),
               foreign.string(), "--backends", "torchscript", "--out", (dir_->path() / "verify-foreign").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(ExportVerifyCli, BadInputsHaveClearErrorsAndCodes) {
  auto r = run_cli({"export", (dir_->path() / "missing.ckpt").string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("missing.ckpt"), std::string::npos) << r.err;
  r = run_cli({"export", checkpoint_.string(), "--format", "tflite-x"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run_cli({"verify", "--checkpoint", checkpoint_.string(), "--tensors", tensors_.string(), "--dir",
               dir_->path().string(), "--option", "onnxruntime:turbo=1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no option 'turbo'"), std::string::npos) << r.err;
  r = run_cli({"verify", "--checkpoint", checkpoint_.string(), "--tensors", tensors_.string(), "--dir",
               dir_->path().string(), "--backends", "tensorrt"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("unknown backend 'tensorrt'"), std::string::npos) << r.err;
  // Tensors of another size than the model: the reference cannot run them, and says why (exit 3).
  const fs::path small = testutil::write_split_tensors(dir_->path() / "split16", 4, 16, 3);
  const fs::path out = dir_->path() / "export-size";
  ASSERT_EQ(run_cli({"--quiet", "export", checkpoint_.string(), "--format", "torchscript", "--out", out.string()})
                .exit_code,
            0);
  r = run_cli({"--quiet", "verify", "--checkpoint", checkpoint_.string(), "--tensors", small.string(), "--dir",
               out.string(), "--out", (dir_->path() / "verify-size").string()});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  // (export wrote the checkpoint's sidecar, so the worker knows the size before loading it)
  EXPECT_NE(r.err.find("expects 32x32 images, the tensors in"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("are 16x16"), std::string::npos) << r.err;
}

// A test split of 60 images whose classes are 30, 20 and 10 of them: models
// that lean to different classes then differ in top-1 even untrained.
fs::path unbalanced_split(const fs::path& dir) {
  data::Manifest manifest;
  manifest.classes = {"class0", "class1", "class2"};
  for (int i = 0; i < 60; ++i) {
    const auto path = testutil::write_image(dir / "images" / ("img" + std::to_string(i) + ".png"),
                                            testutil::pattern_image(40, 36, 5000 + static_cast<std::uint64_t>(i)));
    data::ManifestEntry e;
    e.path = path.string();
    e.label = manifest.classes[i < 30 ? 0U : i < 50 ? 1U : 2U];
    e.split = data::Split::kTest;
    e.hash = content_hash(std::span<const std::uint8_t>(read_file_bytes(path)));
    e.format = "png";
    manifest.entries.push_back(e);
  }
  data::export_split_tensors(manifest, data::Split::kTest, data::PreprocessConfig::preset("imagenet", 32),
                             dir / "tensors", 1);
  return dir / "tensors";
}

// The main job's layout: one folder per model, each checkpoint called
// `model.ckpt` and each export folder holding files of the same names, every
// model verified on its own. A bench of them all must give every row its own
// artifact's accuracy: the join is by model and content, not by file name (it
// once gave every libtorch row the last report's top-1).
TEST_F(ExportVerifyCli, EveryBenchRowCarriesItsOwnModelsAccuracy) {
  const fs::path root = dir_->path() / "study";
  const fs::path split = unbalanced_split(root / "split");
  struct Model {
    std::string name;
    testutil::CheckpointSpec spec;
    fs::path checkpoint, report;
  };
  std::vector<Model> models(3);
  models[0].name = "a";
  models[1].name = "b";
  models[1].spec.seed = 2;  // the same architecture, other weights: the same file names, other figures
  models[2].name = "c";
  models[2].spec.architecture = "efficientnet_b0";
  std::vector<std::string> checkpoints;
  std::vector<std::string> bench{"--tensors", split.string(), "--backends", "libtorch,torchscript",
                                 "--scenarios", "single-stream", "--db", (root / "results.db").string(), "--study",
                                 "three", "--work-dir", (root / "work").string(), "--warmup", "1",
                                 "--warmup-seconds", "0", "--min-count", "5", "--min-seconds", "0",
                                 "--peak-seconds", "0", "--threads", "1"};
  for (Model& m : models) {
    if (m.spec.architecture == "mobilenet_v2") m.spec.width_mult = 0.25;
    m.spec.image_size = 32;
    const fs::path made = testutil::make_checkpoint(root / m.name / "checkpoint", m.spec);
    m.checkpoint = made.parent_path() / "model.ckpt";
    fs::rename(made, m.checkpoint);
    const fs::path exports = root / m.name / "export";
    auto r = run_cli({"--quiet", "export", m.checkpoint.string(), "--format", "torchscript", "--out", exports.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path vout = root / m.name / "verify";
    r = run_cli({"--quiet", "verify", "--checkpoint", m.checkpoint.string(), "--tensors", split.string(), "--dir",
                 exports.string(), "--backends", "torchscript", "--out", vout.string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    m.report = vout / "verify.json";
    checkpoints.push_back(m.checkpoint.string());
    bench.insert(bench.end(), {"--dir", exports.string(), "--verify", m.report.string()});
  }
  // The models must differ in accuracy, or a wrong join could not show.
  std::set<double> top1s;
  std::string listed;
  for (const Model& m : models) {
    top1s.insert(verify_json(m.report.parent_path())["reference"]["top1"].get<double>());
    listed += " " + verify_json(m.report.parent_path())["reference"]["top1"].dump();
  }
  ASSERT_EQ(top1s.size(), models.size()) << "the fixture's models must differ in top-1:" << listed;

  checkpoints.insert(checkpoints.begin(), {"--quiet", "bench"});
  bench.insert(bench.begin(), checkpoints.begin(), checkpoints.end());
  auto r = run_cli(bench);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = run_cli({"results", "--db", (root / "results.db").string(), "export", "three"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto runs = nlohmann::json::parse(r.out)["runs"];
  ASSERT_EQ(runs.size(), 2 * models.size()) << r.out;  // each model's checkpoint on libtorch, its .pt on torchscript
  for (const auto& run : runs) {
    const fs::path artifact = run["configuration"]["artifact"].get<std::string>();
    const Model* own = nullptr;
    for (const Model& m : models) {
      if (artifact.string().rfind((root / m.name).string() + "/", 0) == 0) own = &m;
    }
    ASSERT_NE(own, nullptr) << artifact;
    const auto v = verify_json(own->report.parent_path());
    EXPECT_EQ(run["status"], "ok") << artifact << ": " << run["reason"];
    const auto& figures = run["result"]["summary"]["verify"];
    ASSERT_TRUE(figures.is_object()) << artifact << ": no verify figures";
    if (run["result"]["backend"] == "libtorch") {
      EXPECT_EQ(figures["status"], "reference") << artifact;
      EXPECT_EQ(figures["top1"], v["reference"]["top1"]) << artifact;
      EXPECT_EQ(figures["correct"], v["reference_correct"]) << artifact;
    } else {
      ASSERT_EQ(v["results"].size(), 1U);
      EXPECT_EQ(figures["top1"], v["results"][0]["top1"]) << artifact;
      EXPECT_EQ(figures["agreement"], v["results"][0]["agreement"]) << artifact;
      EXPECT_EQ(figures["correct"], v["results"][0]["correct"]) << artifact;
    }
    // What the Wilson interval and McNemar's test are computed on.
    EXPECT_EQ(figures["count"], 60) << artifact;
    EXPECT_EQ(figures["test_set"], v["test_set"]) << artifact;
  }
}

}  // namespace
}  // namespace inferbench
