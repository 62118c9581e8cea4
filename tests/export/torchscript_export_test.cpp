// TorchScript export: the .pt computes the trained network's function (in C++
// and in Python), carries its description, and fails cleanly.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/files.h"
#include "data/tensor_file.h"
#include "backends/backend.h"
#include "export/exporter.h"
#include "artifact/torchscript_format.h"
#include "testutil/checkpoint_fixture.h"
#include "testutil/fixtures.h"
#include "train/checkpoint.h"
#include "train/torch_model.h"

namespace inferbench::exporters {
namespace {

namespace fs = std::filesystem;
using testutil::TempDir;

constexpr int kSize = 32;

// One checkpoint per architecture per test process (ctest runs each test in its own).
const fs::path& checkpoint(const std::string& arch) {
  static TempDir dir;
  static std::map<std::string, fs::path> made;
  auto it = made.find(arch);
  if (it == made.end()) {
    // One thread: these tests check numbers, and on a busy shared machine
    // OpenMP threads spin-waiting for each other slow convolutions a hundredfold.
    at::set_num_threads(1);
    testutil::CheckpointSpec spec;
    spec.architecture = arch;
    spec.image_size = kSize;
    spec.classes = 3;
    if (arch == "mobilenet_v2") spec.width_mult = 0.25;
    it = made.emplace(arch, testutil::make_checkpoint(dir.path(), spec)).first;
  }
  return it->second;
}

// The trained module's logits (eval mode): what every export must reproduce.
torch::Tensor reference(const fs::path& ckpt, torch::Tensor input) {
  const train::Checkpoint ck = train::load_checkpoint(ckpt);
  train::TorchModel net(ck.graph);
  net->load_state(ck.state, ckpt.string());
  net->eval();
  torch::NoGradGuard no_grad;
  return net->forward(input);
}

torch::Tensor batch(std::int64_t n, std::uint64_t seed) {
  return torch::tensor(testutil::random_batch(n, kSize, seed)).reshape({n, 3, kSize, kSize});
}

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  const double diff = (actual - expected).abs().max().item<double>();
  EXPECT_LT(diff, 1e-4 * scale) << "max |diff| " << diff << " (max |ref| " << scale << ")";
}

ExportOptions to(const fs::path& out) {
  ExportOptions o;
  o.out = out;
  return o;
}

class TorchScriptExportTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchScriptExportTest, MatchesTheTrainedModuleAtBatchOneAndFour) {
  const fs::path& ckpt = checkpoint(GetParam());
  const InferenceModel m = load_inference_model(ckpt, /*fold_batch_norm=*/true);
  TempDir out;
  const artifact::Artifact a = export_torchscript(m, to(out / "model.pt"));
  EXPECT_EQ(a.format, "torchscript");
  EXPECT_EQ(a.path, out / "model.pt");
  EXPECT_EQ(a.height, kSize);
  EXPECT_EQ(a.width, kSize);
  EXPECT_TRUE(a.dynamic_batch);
  EXPECT_EQ(a.model, GetParam());
  bool runnable = false;  // some registered backend takes the format
  for (const backends::BackendInfo& b : backends::registry()) {
    runnable = runnable || std::find(b.formats.begin(), b.formats.end(), a.format) != b.formats.end();
  }
  EXPECT_TRUE(runnable);
  ASSERT_TRUE(fs::is_regular_file(a.path));
  for (const auto& e : fs::directory_iterator(out.path())) {  // no temporary left behind
    EXPECT_EQ(e.path().filename(), "model.pt");
  }

  torch::jit::Module module = torch::jit::load(a.path.string());
  module.eval();
  EXPECT_FALSE(module.is_training());
  torch::NoGradGuard no_grad;
  for (std::int64_t n : {4, 1}) {  // one file, any batch size
    SCOPED_TRACE(n);
    const torch::Tensor x = batch(n, 11);
    expect_close(module.forward({x}).toTensor(), reference(ckpt, x));
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, TorchScriptExportTest,
                         ::testing::Values("mobilenet_v2", "efficientnet_b0", "resnet50"));

TEST(TorchScriptExport, UnfoldedBatchNormAlsoMatches) {
  const fs::path& ckpt = checkpoint("mobilenet_v2");
  const InferenceModel m = load_inference_model(ckpt, /*fold_batch_norm=*/false);
  TempDir out;
  const auto a = export_torchscript(m, to(out / "unfolded.pt"));
  torch::jit::Module module = torch::jit::load(a.path.string());
  torch::NoGradGuard no_grad;
  const torch::Tensor x = batch(2, 5);
  expect_close(module.forward({x}).toTensor(), reference(ckpt, x));
}

TEST(TorchScriptExport, ExtraFilesCarryTheDescriptionAndSource) {
  const fs::path& ckpt = checkpoint("mobilenet_v2");
  const InferenceModel m = load_inference_model(ckpt, true);
  TempDir out;
  const auto a = export_torchscript(m, to(out / "model.pt"));
  const std::string desc_file(torchscript::kDescriptionFile), src_file(torchscript::kSourceFile);
  torch::jit::ExtraFilesMap extra{{desc_file, ""}, {src_file, ""}};
  torch::jit::Module module = torch::jit::load(a.path.string(), c10::nullopt, extra);

  const nlohmann::json d = nlohmann::json::parse(extra[desc_file]);
  EXPECT_EQ(d["classes"], (std::vector<std::string>{"class0", "class1", "class2"}));
  EXPECT_EQ(d["format"], "torchscript");
  EXPECT_EQ(d["input"]["height"], kSize);
  EXPECT_EQ(d["preprocess"]["image_size"], kSize);
  EXPECT_EQ(d["source"]["checkpoint_hash"], m.source["checkpoint_hash"]);
  EXPECT_GT(d["source"]["folded_batch_norms"].get<int>(), 0);
  // Every parameter is listed with the IR name it came from.
  const auto& attrs = d["torchscript"]["attributes"];
  EXPECT_EQ(attrs["features_0_0_weight"], "features.0.0.weight");
  EXPECT_EQ(attrs.size(), m.weights.size());
  std::size_t params = 0;
  for (const auto& p : module.named_parameters()) {
    ++params;
    EXPECT_TRUE(attrs.contains(p.name)) << p.name;
  }
  EXPECT_EQ(params, m.weights.size());
  // The generated source names the IR nodes.
  EXPECT_NE(extra[src_file].find("def forward(self, input: Tensor) -> Tensor:"), std::string::npos);
  EXPECT_NE(extra[src_file].find("# features.0.0 (conv2d)"), std::string::npos) << extra[src_file];
}

bool python_has_torch() {
  static const bool yes = std::system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") == 0;
  return yes;
}

TEST(TorchScriptExport, PythonTorchJitLoadGivesTheSameLogits) {
  if (!python_has_torch()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch and numpy";
  const fs::path& ckpt = checkpoint("efficientnet_b0");
  TempDir out;
  const auto a = export_torchscript(load_inference_model(ckpt, true), to(out / "model.pt"));
  const torch::Tensor x = batch(3, 21);
  data::write_npy(out / "x.npy", x.data_ptr<float>(), {3, 3, kSize, kSize});
  testutil::write_text(out / "run.py", R"(import json, sys
import numpy, torch
torch.set_num_threads(1)
extra = {"inferbench.json": ""}
m = torch.jit.load(sys.argv[1], _extra_files=extra)
m.eval()
assert json.loads(extra["inferbench.json"])["classes"] == ["class0", "class1", "class2"], extra
with torch.no_grad():
    y = m(torch.from_numpy(numpy.load(sys.argv[2])))
numpy.save(sys.argv[3], y.numpy())
)");
  const std::string cmd = "/usr/bin/python3 " + (out / "run.py").string() + " " + a.path.string() + " " +
                          (out / "x.npy").string() + " " + (out / "y.npy").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const data::NpyArray y = data::read_npy(out / "y.npy");
  ASSERT_EQ(y.shape, (std::vector<std::int64_t>{3, 3}));
  const torch::Tensor py = torch::from_blob(const_cast<float*>(y.as_f32()), {3, 3}, torch::kFloat32).clone();
  expect_close(py, reference(ckpt, x));
}

TEST(TorchScriptExport, RejectsPrecisionsOtherThanFp32) {
  const InferenceModel m = load_inference_model(checkpoint("mobilenet_v2"), true);
  TempDir out;
  ExportOptions o = to(out / "model.pt");
  o.precision = artifact::Precision::kFP16;
  testutil::expect_error([&] { export_torchscript(m, o); }, ExitCode::kUsage, "fp16");
  EXPECT_FALSE(fs::exists(out / "model.pt"));
}

TEST(TorchScriptExport, UnwritableOutputIsAnOutputError) {
  const InferenceModel m = load_inference_model(checkpoint("mobilenet_v2"), true);
  TempDir out;
  testutil::write_text(out / "file", "not a folder");
  testutil::expect_error([&] { export_torchscript(m, to(out / "file" / "model.pt")); }, ExitCode::kOutput, "file");
}

}  // namespace
}  // namespace inferbench::exporters
