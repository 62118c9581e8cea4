// What is specific to the OpenCV DNN backend: its settings under its own
// options and its option values. The contract every backend shares (logits
// against the LibTorch reference for every architecture, with OpenCV 4.6's
// known limits recorded in conformance_test.cpp's kKnownLimits, threads in
// force, broken files, unknown option keys, a batch of the wrong shape) is
// checked by conformance_test.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
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

struct Arch {
  std::string name;
  double width_mult = 1.0;
};

// The cheapest architecture OpenCV 4.6 reads (at batch 1), for the tests of the backend itself.
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

TEST(OpenCvDnnBackendTest, ItsOptionsAreAcceptedAndBadValuesAreUsageErrors) {
  const BackendInfo& info = find_backend("opencv-dnn");
  EXPECT_NO_THROW(check_options(info, {{"backend", "opencv"}, {"target", "cpu"}}));

  artifact::Artifact a;
  a.path = "never-read.onnx";
  auto backend = create_backend(info);
  expect_error([&] { backend->load(a, {{"target", "cuda"}}, 1); }, ExitCode::kUsage, "cuda");
}

}  // namespace
}  // namespace inferbench::backends
