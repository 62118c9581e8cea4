// What is specific to the ONNX Runtime backend: every optimisation level and
// execution mode against the LibTorch reference for every architecture, its
// settings, its option values and its messages for inputs that do not fit.
// The contract every backend shares (logits at batch 1, 3 and 4, threads in
// force, broken files, unknown option keys, threads below one) is checked by
// conformance_test.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
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

// Defined by the backend's own target (the test links it directly, not the registry).
BackendInfo onnxruntime_backend_info();

namespace {

namespace fs = std::filesystem;
using testutil::expect_error;

constexpr int kSize = 32;
constexpr std::int64_t kBatch = 4;
constexpr double kTolerance = 1e-3;  // times max(1, max |reference logit|)

struct Arch {
  std::string name;
  double width_mult = 1.0;
};

std::string arch_name(const testing::TestParamInfo<Arch>& info) { return info.param.name; }
void PrintTo(const Arch& arch, std::ostream* os) { *os << arch.name; }

// One architecture's checkpoint, its ONNX export and the reference logits of
// one batch; made once per test process.
struct Exported {
  testutil::TempDir dir;
  fs::path checkpoint;
  artifact::Artifact onnx;
  std::vector<float> batch;      // kBatch x 3 x kSize x kSize
  std::vector<float> reference;  // kBatch x classes, LibTorch eval mode
};

const Exported& exported(const Arch& arch) {
  static std::map<std::string, std::unique_ptr<Exported>> cache;
  auto& slot = cache[arch.name];
  if (slot) return *slot;
  auto e = std::make_unique<Exported>();
  testutil::CheckpointSpec spec;
  spec.architecture = arch.name;
  spec.width_mult = arch.width_mult;
  spec.image_size = kSize;
  e->checkpoint = testutil::make_checkpoint(e->dir.path(), spec);
  exporters::ExportOptions options;
  options.out = e->dir / (arch.name + ".onnx");
  e->onnx = exporters::export_onnx(exporters::load_inference_model(e->checkpoint, true), options);
  e->batch = testutil::random_batch(kBatch, kSize, 5);
  e->reference = testutil::reference_logits(e->checkpoint, e->batch, kBatch, kSize);
  slot = std::move(e);
  return *slot;
}

// Runs the first n images of the batch and compares with the reference's first n rows.
void expect_matches(Backend& backend, const Exported& e, std::int64_t n, const std::string& what,
                    double tolerance = kTolerance) {
  const Logits got = backend.infer(e.batch.data(), {n, 3, kSize, kSize});
  ASSERT_EQ(got.batch, n) << what;
  ASSERT_EQ(got.classes, 3) << what;
  ASSERT_EQ(got.values.size(), static_cast<std::size_t>(n * 3)) << what;
  double scale = 1.0;
  double diff = 0.0;
  for (std::size_t i = 0; i < got.values.size(); ++i) {
    scale = std::max(scale, static_cast<double>(std::abs(e.reference[i])));
    diff = std::max(diff, static_cast<double>(std::abs(got.values[i] - e.reference[i])));
  }
  EXPECT_LE(diff, tolerance * scale) << what << ", batch " << n << ": max |logit difference| " << diff
                                      << " (max |logit| " << scale << ")";
}

std::unique_ptr<Backend> loaded(const artifact::Artifact& artifact, const Options& options, int threads) {
  const BackendInfo info = onnxruntime_backend_info();
  check_options(info, options);
  auto backend = create_backend(info);
  backend->load(artifact, options, threads);
  return backend;
}

class OnnxRuntimeTest : public testing::TestWithParam<Arch> {};

TEST_P(OnnxRuntimeTest, EveryOptimisationLevelAndModeMatches) {
  const Exported& e = exported(GetParam());
  for (const std::string level : {"disable", "basic", "extended"}) {
    auto backend = loaded(e.onnx, {{"graph_optimization_level", level}, {"memory_pattern", "0"}}, 1);
    expect_matches(*backend, e, kBatch, "graph_optimization_level=" + level);
  }
  auto parallel = loaded(e.onnx, {{"execution_mode", "parallel"}, {"inter_op_threads", "2"}}, 2);
  expect_matches(*parallel, e, kBatch, "execution_mode=parallel");
}

// The FP16 file (float16 weights and values between float32 casts): the
// same function within FP16's rule, and ONNX Runtime's profiler says what its
// kernels computed in. Its CPU provider (1.29, x86) has few float16 kernels:
// it folds the float16 weights of every convolution back to float32 and
// runs them so, and only the classifier's Gemm in float16 ("mixed", 52 of
// 53 in float32 for MobileNetV2): the study's "FP16" that ran in FP32,
// shown as such.
TEST_P(OnnxRuntimeTest, AnFp16FileMatchesAndItsExecutedPrecisionIsTheKernels) {
  const Exported& e = exported(GetParam());
  exporters::ExportOptions options;
  options.out = e.dir / (GetParam().name + "-fp16.onnx");
  options.precision = artifact::Precision::kFP16;
  const artifact::Artifact half =
      exporters::export_onnx(exporters::load_inference_model(e.checkpoint, true), options);
  auto backend = loaded(half, {}, 1);
  expect_matches(*backend, e, kBatch, "fp16 file", 5e-2);
  const nlohmann::json x = backend->execution();
  std::cout << GetParam().name << " fp16 in ONNX Runtime: " << x.dump() << "\n";
  const std::string p = x.at("precision");
  const auto f16 = x.at("float16_compute_kernels").get<std::int64_t>();
  const auto all = x.at("float_compute_kernels").get<std::int64_t>();
  ASSERT_GT(all, 0);
  EXPECT_GE(x.at("cast_kernels").get<std::int64_t>(), 2);  // the file's own two, at least
  // Which kernels took float16 inputs, by op type, is the evidence; the label follows from it.
  EXPECT_EQ(p, f16 == 0 ? "fp32" : f16 == all ? "fp16" : "mixed") << x.dump();
  if (f16 < all) {
    EXPECT_NE(x.at("note").get<std::string>().find("FP16 weights, FP32 compute for " + std::to_string(all - f16)),
              std::string::npos)
        << x.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, OnnxRuntimeTest,
                         testing::Values(Arch{"mobilenet_v2", 0.25}, Arch{"efficientnet_b0"}, Arch{"resnet50"}),
                         arch_name);

const Arch kSmall{"mobilenet_v2", 0.25};

TEST(OnnxRuntimeBackendTest, DescribesItselfAndReportsSettingsInForce) {
  const BackendInfo info = onnxruntime_backend_info();
  EXPECT_EQ(info.name, "onnxruntime");
  EXPECT_TRUE(info.available);
  EXPECT_EQ(info.formats, std::vector<std::string>{"onnx"});
  EXPECT_EQ(info.version.substr(0, 2), "1.");
  // The registry lists the same backend, available.
  const BackendInfo& listed = find_backend("onnxruntime");
  EXPECT_TRUE(listed.available) << listed.reason;
  EXPECT_EQ(listed.version, info.version);

  const Exported& e = exported(kSmall);
  auto backend = loaded(e.onnx, {{"graph_optimization_level", "basic"}, {"execution_mode", "parallel"}}, 1);
  const nlohmann::json s = backend->settings();
  std::cout << "onnxruntime settings: " << s.dump() << "\n";
  EXPECT_EQ(s.at("threads"), 1);
  EXPECT_EQ(s.at("inter_op_threads"), 1);
  EXPECT_EQ(s.at("graph_optimization_level"), "basic");
  EXPECT_EQ(s.at("execution_mode"), "parallel");
  EXPECT_EQ(s.at("memory_pattern"), true);
  EXPECT_EQ(s.at("onnxruntime_version"), info.version);
  const auto providers = s.at("available_providers").get<std::vector<std::string>>();
  EXPECT_NE(std::find(providers.begin(), providers.end(), "CPUExecutionProvider"), providers.end());
  EXPECT_EQ(s.at("input").at("name"), "input");
  EXPECT_EQ(s.at("input").at("shape"), "?x3x32x32");
}

TEST(OnnxRuntimeBackendTest, BadOptionValuesAreUsageErrors) {
  const BackendInfo info = onnxruntime_backend_info();
  artifact::Artifact a;
  a.path = "never-read.onnx";
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"graph_optimization_level", "max"},
           {"execution_mode", "async"},
           {"memory_pattern", "yes"},
           {"inter_op_threads", "0"}}) {
    expect_error([&] { create_backend(info)->load(a, {{key, value}}, 1); }, ExitCode::kUsage, key + "='" + value + "'");
  }
}

TEST(OnnxRuntimeBackendTest, ADescriptionNamingAnotherInputIsAnInputError) {
  const Exported& e = exported(kSmall);
  // A description that names another input than the file's.
  artifact::Artifact renamed = e.onnx;
  renamed.input_name = "images";
  expect_error([&] { loaded(renamed, {}, 1); }, ExitCode::kInput, "images");
}

TEST(OnnxRuntimeBackendTest, AnInputOfAnotherSizeIsAnInputError) {
  const Exported& e = exported(kSmall);
  auto backend = loaded(e.onnx, {}, 1);
  const std::vector<float> big(static_cast<std::size_t>(3 * 40 * 40), 0.0F);
  expect_error([&] { backend->infer(big.data(), {1, 3, 40, 40}); }, ExitCode::kInput, "mobilenet_v2.onnx");
  expect_error([&] { backend->infer(big.data(), {1, 4, 20, 20}); }, ExitCode::kInput, "?x3x32x32");
  expect_error([&] { backend->infer(big.data(), {3, 40, 40}); }, ExitCode::kInput, "mobilenet_v2.onnx");

  // The description says 40 x 40, the file 32 x 32.
  artifact::Artifact wrong = e.onnx;
  wrong.height = wrong.width = 40;
  expect_error([&] { loaded(wrong, {}, 1); }, ExitCode::kInput, "32");
}

}  // namespace
}  // namespace inferbench::backends
