// The OpenCV DNN backend against the LibTorch reference on the same inputs,
// for every architecture exported to ONNX, and its errors for broken files
// and unknown options.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "common/error.h"
#include "export/exporter.h"
#include "testutil/checkpoint_fixture.h"
#include "testutil/fixtures.h"
#include "train/checkpoint.h"
#include "train/torch_model.h"

namespace inferbench::backends {
namespace {

namespace fs = std::filesystem;
using testutil::expect_error;

constexpr int kSize = 32;
constexpr std::int64_t kBatch = 4;

// What Debian's OpenCV 4.6 does with each architecture's export (see
// opencv_dnn_backend.cpp): these are its limits, recorded so a change shows.
enum class Support {
  kFull,        // runs every batch size
  kBatchOne,    // runs batch 1 only (squeeze-excitation's per-sample Mul)
  kCannotRead,  // rejected at load (ReLU6 as Clip with min/max inputs)
};

struct Arch {
  std::string name;
  double width_mult = 1.0;
  Support support = Support::kFull;
  std::string why{};  // what the Error names when not kFull
};

std::string arch_name(const testing::TestParamInfo<Arch>& info) { return info.param.name; }
void PrintTo(const Arch& arch, std::ostream* os) { *os << arch.name; }  // for gtest's messages

// The cheapest architecture OpenCV 4.6 reads, for the tests of the backend itself (batch 1).
const Arch kReadable{"efficientnet_b0"};

// A checkpoint and its ONNX export (batch norm folded), with the sidecar's description.
struct Exported {
  fs::path checkpoint;
  artifact::Artifact artifact;
};

Exported export_model(const testutil::TempDir& dir, const Arch& arch) {
  testutil::CheckpointSpec spec;
  spec.architecture = arch.name;
  spec.width_mult = arch.width_mult;
  spec.image_size = kSize;
  Exported e;
  e.checkpoint = testutil::make_checkpoint(dir.path(), spec);
  exporters::ExportOptions options;
  options.out = dir / (arch.name + ".onnx");
  e.artifact = exporters::export_onnx(exporters::load_inference_model(e.checkpoint, true), options);
  return e;
}

class OpenCvDnnTest : public testing::TestWithParam<Arch> {};

// max |logit difference| against the reference, relative to max(1, max |reference|).
void expect_close(const Logits& got, const std::vector<float>& expected, std::int64_t batch) {
  ASSERT_EQ(got.batch, batch);
  ASSERT_EQ(got.classes, 3);
  const auto n = static_cast<std::size_t>(batch * 3);
  ASSERT_EQ(got.values.size(), n);
  double scale = 1.0;
  double diff = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    scale = std::max(scale, static_cast<double>(std::abs(expected[i])));
    diff = std::max(diff, static_cast<double>(std::abs(got.values[i] - expected[i])));
  }
  EXPECT_LE(diff, 1e-3 * scale) << "max |logit difference| " << diff << " (max |logit| " << scale << ")";
}

TEST_P(OpenCvDnnTest, LogitsMatchTheLibTorchReference) {
  const Arch& arch = GetParam();
  testutil::TempDir dir;
  const Exported e = export_model(dir, arch);
  auto backend = create_backend(find_backend("opencv-dnn"));
  if (arch.support == Support::kCannotRead) {
    expect_error([&] { backend->load(e.artifact, {}, 2); }, ExitCode::kInput, arch.why);
    expect_error([&] { backend->load(e.artifact, {}, 2); }, ExitCode::kInput, e.artifact.path.filename().string());
    return;
  }
  backend->load(e.artifact, {}, 2);
  const auto batch = testutil::random_batch(kBatch, kSize, 5);
  const std::vector<float> expected = testutil::reference_logits(e.checkpoint, batch, kBatch, kSize);

  // Batch 1 (the first image), then the whole batch through the dynamic batch dimension.
  expect_close(backend->infer(batch.data(), {1, 3, kSize, kSize}), expected, 1);
  if (arch.support == Support::kBatchOne) {
    expect_error([&] { backend->infer(batch.data(), {kBatch, 3, kSize, kSize}); }, ExitCode::kInput, arch.why);
    return;
  }
  expect_close(backend->infer(batch.data(), {kBatch, 3, kSize, kSize}), expected, kBatch);
}

INSTANTIATE_TEST_SUITE_P(Architectures, OpenCvDnnTest,
                         testing::Values(Arch{"mobilenet_v2", 0.25, Support::kCannotRead, "Clip"},
                                         Arch{"efficientnet_b0", 1.0, Support::kBatchOne, "only at batch size 1"},
                                         Arch{"resnet50"}),
                         arch_name);

TEST(OpenCvDnnBackendTest, IsRegisteredAndReportsSettingsInForce) {
  const auto& all = registry();
  const auto it = std::find_if(all.begin(), all.end(), [](const BackendInfo& b) { return b.name == "opencv-dnn"; });
  ASSERT_NE(it, all.end());
  const BackendInfo& info = *it;
  EXPECT_TRUE(info.available) << info.reason;
  EXPECT_EQ(info.formats, std::vector<std::string>{"onnx"});
  EXPECT_FALSE(info.version.empty());

  testutil::TempDir dir;
  const Exported e = export_model(dir, kReadable);
  auto backend = create_backend(info);
  backend->load(e.artifact, {{"backend", "opencv"}, {"fusion", "off"}}, 1);
  const nlohmann::json s = backend->settings();
  EXPECT_EQ(s.at("threads"), 1);
  EXPECT_EQ(s.at("backend"), "opencv");
  EXPECT_EQ(s.at("fusion"), false);
  EXPECT_EQ(s.at("opencv_version"), info.version);
}

TEST(OpenCvDnnBackendTest, UnknownOptionsAndValuesAreUsageErrors) {
  const BackendInfo& info = find_backend("opencv-dnn");
  expect_error([&] { check_options(info, {{"bogus", "1"}}); }, ExitCode::kUsage, "bogus");
  EXPECT_NO_THROW(check_options(info, {{"backend", "opencv"}, {"target", "cpu"}}));

  artifact::Artifact a;
  a.path = "never-read.onnx";
  auto backend = create_backend(info);
  expect_error([&] { backend->load(a, {{"target", "cuda"}}, 1); }, ExitCode::kUsage, "cuda");
}

TEST(OpenCvDnnBackendTest, BrokenFilesAreInputErrorsNamingTheFile) {
  testutil::TempDir dir;
  const Exported e = export_model(dir, kReadable);
  const BackendInfo& info = find_backend("opencv-dnn");

  std::ifstream in(e.artifact.path, std::ios::binary);
  std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ASSERT_GT(bytes.size(), 1000U);
  bytes.resize(bytes.size() / 2);

  artifact::Artifact truncated = e.artifact;
  truncated.path = dir / "truncated.onnx";
  testutil::write_bytes(truncated.path, bytes);
  expect_error([&] { create_backend(info)->load(truncated, {}, 1); }, ExitCode::kInput, "truncated.onnx");

  artifact::Artifact text = e.artifact;
  text.path = dir / "notes.onnx";
  testutil::write_text(text.path, "this is not an ONNX model\n");
  expect_error([&] { create_backend(info)->load(text, {}, 1); }, ExitCode::kInput, "notes.onnx");

  artifact::Artifact missing = e.artifact;
  missing.path = dir / "missing.onnx";
  expect_error([&] { create_backend(info)->load(missing, {}, 1); }, ExitCode::kInput, "missing.onnx");
}

TEST(OpenCvDnnBackendTest, ABatchOfTheWrongShapeIsAnInputError) {
  testutil::TempDir dir;
  const Exported e = export_model(dir, kReadable);
  auto backend = create_backend(find_backend("opencv-dnn"));
  backend->load(e.artifact, {}, 1);
  const std::vector<float> batch(static_cast<std::size_t>(4 * kSize * kSize), 0.0F);
  expect_error([&] { backend->infer(batch.data(), {1, 4, kSize, kSize}); }, ExitCode::kInput, "efficientnet_b0.onnx");
}

}  // namespace
}  // namespace inferbench::backends
