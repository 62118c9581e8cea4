// The libtorch and torchscript backends: same logits as the trained module on
// the same inputs within 1e-4 (tighter than the shared fp32 tolerance), any
// batch size, every freeze/optimize combination, settings that say what is in
// force, and their messages for bad inputs, bad option values and a .pt named
// .ckpt. The contract every backend shares (broken files, unknown option keys,
// threads below one, threads in force) is checked by conformance_test.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

#include "backends/backend.h"
#include "export/exporter.h"
#include "testutil/checkpoint_fixture.h"
#include "testutil/fixtures.h"
#include "train/checkpoint.h"
#include "train/torch_model.h"

namespace inferbench::backends {

namespace {

namespace fs = std::filesystem;
using testutil::expect_error;
using testutil::TempDir;

constexpr int kSize = 32;

// From the registry, as the worker takes them.
const BackendInfo& registered(const std::string& name) {
  for (const BackendInfo& b : registry())
    if (b.name == name) return b;
  throw std::logic_error("backend " + name + " is not registered");
}
const BackendInfo& libtorch_backend_info() { return registered("libtorch"); }
const BackendInfo& torchscript_backend_info() { return registered("torchscript"); }

struct Files {
  fs::path checkpoint;
  artifact::Artifact checkpoint_artifact;
  artifact::Artifact torchscript;  // exported from the checkpoint, batch norm folded
};

// One checkpoint and export per architecture per test process.
const Files& files(const std::string& arch) {
  static TempDir dir;
  static std::map<std::string, Files> made;
  auto it = made.find(arch);
  if (it == made.end()) {
    at::set_num_threads(1);  // see loaded()
    testutil::CheckpointSpec spec;
    spec.architecture = arch;
    spec.image_size = kSize;
    spec.classes = 3;
    if (arch == "mobilenet_v2") spec.width_mult = 0.25;
    Files f;
    f.checkpoint = testutil::make_checkpoint(dir.path(), spec);
    f.checkpoint_artifact = artifact::describe(f.checkpoint);  // no sidecar: size from the checkpoint
    exporters::ExportOptions o;
    o.out = dir.path() / (arch + ".pt");
    f.torchscript = exporters::export_torchscript(exporters::load_inference_model(f.checkpoint, true), o);
    it = made.emplace(arch, std::move(f)).first;
  }
  return it->second;
}

void expect_close(const Logits& actual, const std::vector<float>& expected, std::int64_t n) {
  ASSERT_EQ(actual.batch, n);
  ASSERT_EQ(actual.classes, 3);
  ASSERT_EQ(actual.values.size(), expected.size());
  double scale = 1.0, diff = 0.0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    scale = std::max(scale, static_cast<double>(std::abs(expected[i])));
    diff = std::max(diff, static_cast<double>(std::abs(actual.values[i] - expected[i])));
  }
  EXPECT_LT(diff, 1e-4 * scale) << "max |diff| " << diff << " (max |ref| " << scale << ")";
}

// One thread unless a test is about threads: the tests check numbers, and on a
// busy shared machine OpenMP threads spin-waiting for each other make every
// convolution a hundred times slower.
std::unique_ptr<Backend> loaded(const BackendInfo& info, const artifact::Artifact& a, const Options& options = {},
                                int threads = 1) {
  check_options(info, options);
  auto b = create_backend(info);
  b->load(a, options, threads);
  return b;
}

// Both backends, batch 4 then 1 (one loaded model, dynamic batch), against the reference.
void expect_reference_logits(const BackendInfo& info, const artifact::Artifact& a, const fs::path& ckpt,
                             const Options& options = {}) {
  auto b = loaded(info, a, options);
  for (std::int64_t n : {4, 1}) {
    SCOPED_TRACE(n);
    const std::vector<float> x = testutil::random_batch(n, kSize, 100 + static_cast<std::uint64_t>(n));
    const Logits y = b->infer(x.data(), {n, 3, kSize, kSize});
    expect_close(y, testutil::reference_logits(ckpt, x, n, kSize), n);
  }
}

TEST(TorchBackends, BothAreRegisteredAndAvailable) {
  for (const BackendInfo* b : {&libtorch_backend_info(), &torchscript_backend_info()}) {
    EXPECT_TRUE(b->available) << b->name << ": " << b->reason;
    EXPECT_EQ(b->version, TORCH_VERSION);
  }
  EXPECT_EQ(libtorch_backend_info().formats, std::vector<std::string>{"checkpoint"});
  EXPECT_EQ(torchscript_backend_info().formats, std::vector<std::string>{"torchscript"});
}

class TorchBackendsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchBackendsTest, TorchScriptGivesTheReferenceLogits) {
  const Files& f = files(GetParam());
  expect_reference_logits(torchscript_backend_info(), f.torchscript, f.checkpoint);
}

TEST_P(TorchBackendsTest, LibTorchGivesTheReferenceLogits) {
  const Files& f = files(GetParam());
  expect_reference_logits(libtorch_backend_info(), f.checkpoint_artifact, f.checkpoint);
}

INSTANTIATE_TEST_SUITE_P(Architectures, TorchBackendsTest,
                         ::testing::Values("mobilenet_v2", "efficientnet_b0", "resnet50"));

TEST(TorchScriptBackend, EveryFreezeAndOptimizeCombinationGivesTheReferenceLogits) {
  const Files& f = files("mobilenet_v2");
  for (const char* freeze : {"0", "1"}) {
    for (const char* optimize : {"0", "1"}) {
      SCOPED_TRACE(std::string("freeze=") + freeze + " optimize=" + optimize);
      expect_reference_logits(torchscript_backend_info(), f.torchscript, f.checkpoint,
                              {{"freeze", freeze}, {"optimize", optimize}});
    }
  }
}

TEST(TorchScriptBackend, SettingsSayWhatIsInForce) {
  const Files& f = files("mobilenet_v2");
  auto b = loaded(torchscript_backend_info(), f.torchscript, {{"freeze", "0"}, {"optimize", "0"}}, 1);
  nlohmann::json s = b->settings();
  EXPECT_EQ(s["threads"], 1);
  EXPECT_EQ(s["frozen"], false);
  EXPECT_EQ(s["optimized_for_inference"], false);
  EXPECT_EQ(s["torch_version"], torchscript_backend_info().version);
  EXPECT_TRUE(s["mkldnn"].contains("enabled"));
  EXPECT_EQ(s["input"]["height"], kSize);  // from the description inside the .pt

  b = loaded(torchscript_backend_info(), f.torchscript, {{"freeze", "0"}}, 2);
  s = b->settings();
  EXPECT_EQ(s["threads"], 2);
  EXPECT_EQ(s["frozen"], true);  // optimize_for_inference freezes
  EXPECT_EQ(s["optimized_for_inference"], true);
}

TEST(LibTorchBackend, SettingsSayWhatIsInForce) {
  const Files& f = files("mobilenet_v2");
  auto b = loaded(libtorch_backend_info(), f.checkpoint_artifact, {}, 1);
  const nlohmann::json s = b->settings();
  EXPECT_EQ(s["threads"], 1);
  EXPECT_EQ(s["mode"], "eager");
  EXPECT_EQ(s["input"]["height"], kSize);  // from the checkpoint's preprocessing
}

TEST(TorchBackends, UnknownOptionsAndBadValuesAreRejected) {
  expect_error([] { check_options(torchscript_backend_info(), {{"fuse", "1"}}); }, ExitCode::kUsage, "fuse");
  expect_error([] { check_options(libtorch_backend_info(), {{"freeze", "1"}}); }, ExitCode::kUsage, "freeze");
  const Files& f = files("mobilenet_v2");
  expect_error([&] { loaded(torchscript_backend_info(), f.torchscript, {{"freeze", "yes"}}); }, ExitCode::kUsage,
               "freeze");
  // LibTorch computes fp32 or a bf16 copy, nothing else: the value and the choices are named.
  expect_error([&] { loaded(libtorch_backend_info(), f.checkpoint_artifact, {{"precision", "fp16"}}); },
               ExitCode::kUsage, "precision='fp16'");
  // (threads 0: conformance_test.cpp, for both backends.)
}

// (A truncated, a text and a missing .pt or .ckpt: conformance_test.cpp.)
TEST(TorchBackends, ATorchScriptFileNamedAsACheckpointIsAnInputErrorNamingIt) {
  const Files& f = files("mobilenet_v2");
  TempDir dir;
  const fs::path not_ckpt = dir / "model.ckpt";
  fs::copy_file(f.torchscript.path, not_ckpt);
  artifact::Artifact a = f.checkpoint_artifact;
  a.path = not_ckpt;
  expect_error([&] { loaded(libtorch_backend_info(), a); }, ExitCode::kInput, not_ckpt.string());
}

TEST(TorchBackends, InputsOfTheWrongShapeAreInputErrors) {
  const Files& f = files("mobilenet_v2");
  const std::vector<float> x = testutil::random_batch(1, kSize + 1, 3);
  for (const auto& [info, artifact] : {std::pair{torchscript_backend_info(), f.torchscript},
                                       std::pair{libtorch_backend_info(), f.checkpoint_artifact}}) {
    SCOPED_TRACE(info.name);
    auto b = loaded(info, artifact);
    expect_error([&] { b->infer(x.data(), {1, 3, kSize + 1, kSize + 1}); }, ExitCode::kInput, "1x3x33x33");
    expect_error([&] { b->infer(x.data(), {1, 3, kSize + 1, kSize + 1}); }, ExitCode::kInput, "N x 3 x 32 x 32");
    expect_error([&] { b->infer(x.data(), {3, kSize, kSize}); }, ExitCode::kInput, artifact.path.string());
    expect_error([&] { b->infer(x.data(), {1, 1, kSize, kSize}); }, ExitCode::kInput, "1x1x32x32");
  }
}

TEST(TorchBackends, AnNhwcDescriptionIsRejected) {
  const Files& f = files("mobilenet_v2");
  artifact::Artifact a = f.torchscript;
  a.layout = "NHWC";
  expect_error([&] { loaded(torchscript_backend_info(), a); }, ExitCode::kInput, "NHWC");
}

}  // namespace
}  // namespace inferbench::backends
