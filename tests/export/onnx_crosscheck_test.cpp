// Cross-check with an independent reader: PyTorch's own exporter, run on
// torchvision's own definition of the architecture with the checkpoint's
// weights (scripts/torchvision_onnx.py, Debian python3-torch), must give the
// same logits in ONNX Runtime as our ONNX emitter's file. The two share none
// of our code: equal logits check the IR, the weight mapping, batch-norm
// folding and the emitter at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "backends/backend.h"
#include "export/exporter.h"
#include "export/inference_model.h"
#include "testutil/checkpoint_fixture.h"
#include "common/files.h"
#include "testutil/fixtures.h"

namespace inferbench::backends {
BackendInfo onnxruntime_backend_info();
}

namespace inferbench {
namespace {

namespace fs = std::filesystem;

bool have_torch_python() {
  static const bool ok =
      std::system("/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1") == 0;
  return ok;
}

std::vector<float> run_ort(const fs::path& file, const std::vector<float>& x, std::int64_t n, int size) {
  auto b = backends::onnxruntime_backend_info().create();
  artifact::Artifact a = artifact::describe(file);
  a.height = a.width = size;
  b->load(a, {}, 1);
  return b->infer(x.data(), {n, 3, size, size}).values;
}

class OnnxCrossCheck : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxCrossCheck, TorchvisionExportGivesTheSameLogitsInOnnxRuntime) {
  if (!have_torch_python()) GTEST_SKIP() << "/usr/bin/python3 lacks torch/torchvision";
  testutil::TempDir dir;
  testutil::CheckpointSpec spec;
  spec.architecture = GetParam();
  spec.width_mult = GetParam() == "mobilenet_v2" ? 0.5 : 1.0;
  const fs::path ckpt = testutil::make_checkpoint(dir.path(), spec);

  exporters::ExportOptions opts;
  opts.out = dir.path() / "ours.onnx";
  exporters::export_onnx(exporters::load_inference_model(ckpt, true), opts);
  const fs::path theirs = dir.path() / "torchvision.onnx";
  const std::string cmd = std::string("/usr/bin/python3 ") + INFERBENCH_SOURCE_DIR + "/scripts/torchvision_onnx.py '" +
                          ckpt.string() + "' '" + theirs.string() + "' >/dev/null 2>" + (dir.path() / "py.err").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file_text(dir.path() / "py.err");

  const auto x = testutil::random_batch(4, 32, 5);
  const auto a = run_ort(opts.out, x, 4, 32);
  const auto b = run_ort(theirs, x, 4, 32);
  ASSERT_EQ(a.size(), b.size());
  double max_abs = 0, scale = 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    max_abs = std::max(max_abs, static_cast<double>(std::abs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::abs(b[i])));
  }
  EXPECT_LT(max_abs, 1e-4 * scale) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Architectures, OnnxCrossCheck,
                         ::testing::Values("mobilenet_v2", "efficientnet_b0", "resnet50"));

}  // namespace
}  // namespace inferbench
