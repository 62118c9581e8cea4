// Corrupt model files end to end through the real binary (issue 16, item 4):
// a benchmark given damaged exports (.onnx, .xml + .bin, .pt) and a damaged
// checkpoint records each as a failed run whose reason names the file, keeps
// the good runs (exit 6: finished, some failed); export and verify of a damaged
// checkpoint are input errors (exit 3) naming it, and write nothing. (Each
// backend's own reaction to broken files is in backend_conformance_test.)
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/files.h"
#include "results/store.h"
#include "testutil/checkpoint_fixture.h"
#include "testutil/fixtures.h"
#include "testutil/text.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;
using testutil::run_cli;

using testutil::contains;

class CorruptModels : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testutil::TempDir();
    testutil::CheckpointSpec spec;
    spec.width_mult = 0.25;
    spec.image_size = 32;
    checkpoint_ = testutil::make_checkpoint(dir_->path() / "ckpt", spec);
    tensors_ = testutil::write_split_tensors(dir_->path() / "split", 8, 32, 3);
    exports_ = dir_->path() / "export";
    const auto r = run_cli({"--quiet", "export", checkpoint_.string(), "--out", exports_.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }

  // A copy of `file` (and its sidecar, and an .xml's .bin) under a new stem in `to`.
  static fs::path copy_as(const fs::path& file, const fs::path& to, const std::string& stem) {
    fs::create_directories(to);
    const fs::path dst = to / (stem + file.extension().string());
    fs::copy_file(file, dst, fs::copy_options::overwrite_existing);
    fs::copy_file(file.string() + ".json", dst.string() + ".json", fs::copy_options::overwrite_existing);
    if (file.extension() == ".xml") {
      fs::copy_file(fs::path(file).replace_extension(".bin"), fs::path(dst).replace_extension(".bin"),
                    fs::copy_options::overwrite_existing);
    }
    return dst;
  }
  static void truncate_half(const fs::path& p) {
    auto b = read_file_bytes(p);
    b.resize(b.size() / 2);
    testutil::write_bytes(p, b);
  }

  static testutil::TempDir* dir_;
  static fs::path checkpoint_, tensors_, exports_;
};
testutil::TempDir* CorruptModels::dir_ = nullptr;
fs::path CorruptModels::checkpoint_, CorruptModels::tensors_, CorruptModels::exports_;

TEST_F(CorruptModels, BenchRecordsEachAsFailedNamingTheFileAndKeepsTheGoodRuns) {
  testutil::TempDir d;
  const fs::path bad = d / "bad";
  std::vector<fs::path> damaged;
  const fs::path onnx = exports_ / "mobilenet_v2.onnx", xml = exports_ / "mobilenet_v2.xml",
                 pt = exports_ / "mobilenet_v2.pt";
  ASSERT_TRUE(fs::exists(onnx) && fs::exists(xml) && fs::exists(pt)) << "an exporter is missing from this build";
  damaged.push_back(copy_as(onnx, bad, "cut-onnx"));
  truncate_half(damaged.back());
  damaged.push_back(copy_as(onnx, bad, "empty-onnx"));
  testutil::write_bytes(damaged.back(), {});
  damaged.push_back(copy_as(xml, bad, "cut-bin"));  // the .xml intact, its weights cut short
  truncate_half(fs::path(damaged.back()).replace_extension(".bin"));
  damaged.push_back(copy_as(xml, bad, "text-xml"));
  testutil::write_text(damaged.back(), "<net>this is not an IR</net>\n");
  damaged.push_back(copy_as(pt, bad, "cut-pt"));
  truncate_half(damaged.back());
  damaged.push_back(copy_as(checkpoint_, bad, "cut-ckpt"));
  truncate_half(damaged.back());

  const fs::path db = d / "results.db";
  std::vector<std::string> args{"--quiet", "bench", onnx.string(), pt.string(), "--tensors", tensors_.string(),
                                "--backends", "onnxruntime,torchscript,libtorch,openvino", "--scenarios",
                                "single-stream", "--threads", "1", "--warmup", "1", "--warmup-seconds", "0",
                                "--min-count", "10", "--min-seconds", "0", "--peak-seconds", "0", "--db",
                                db.string(), "--study", "damaged", "--work-dir", (d / "work").string()};
  for (const auto& p : damaged) args.push_back(p.string());
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  results::Store store = results::Store::open(db);
  const auto study = store.find_study("damaged");
  ASSERT_TRUE(study.has_value()) << r.err;
  int good_ok = 0;
  std::set<std::string> failed;
  for (const auto& run : store.runs(study->id)) {
    SCOPED_TRACE(run.result.artifact + " in " + run.result.backend + ": " + run.reason);
    const bool is_damaged = run.result.artifact.find('-') != std::string::npos;  // cut-onnx.onnx, ...
    if (!is_damaged) {
      EXPECT_EQ(run.status, results::RunStatus::kOk);
      good_ok += run.status == results::RunStatus::kOk;
      continue;
    }
    EXPECT_NE(run.status, results::RunStatus::kOk);
    if (run.status == results::RunStatus::kSkipped) continue;  // a backend that does not load the format
    EXPECT_TRUE(run.samples.empty());
    // The reason names the damaged file.
    EXPECT_TRUE(contains(run.reason, run.result.artifact) || contains(run.reason, fs::path(run.result.artifact).stem()))
        << run.reason;
    failed.insert(run.result.artifact);
  }
  EXPECT_GE(good_ok, 3);  // the ONNX in ONNX Runtime and OpenVINO, the .pt in TorchScript
  for (const auto& p : damaged) EXPECT_TRUE(failed.count(p.filename().string())) << p << " has no failed run";
}

TEST_F(CorruptModels, ExportAndVerifyOfADamagedCheckpointAreInputErrorsNamingIt) {
  testutil::TempDir d;
  const fs::path cut = copy_as(checkpoint_, d / "in", "cut");
  truncate_half(cut);
  const fs::path text = copy_as(checkpoint_, d / "in", "text");
  testutil::write_text(text, "not a checkpoint\n");
  for (const fs::path& ckpt : {cut, text}) {
    SCOPED_TRACE(ckpt.string());
    auto r = run_cli({"--quiet", "export", ckpt.string(), "--out", (d / "export").string()});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_TRUE(contains(r.err, ckpt.string())) << r.err;
    EXPECT_FALSE(fs::exists(d / "export"));
    r = run_cli({"--quiet", "verify", "--checkpoint", ckpt.string(), "--tensors", tensors_.string(), "--dir",
                 exports_.string(), "--out", (d / "verify").string()});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_TRUE(contains(r.err, ckpt.string())) << r.err;
    EXPECT_FALSE(fs::exists(d / "verify" / "verify.json"));
  }
}

}  // namespace
}  // namespace inferbench
