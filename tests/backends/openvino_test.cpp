// What is specific to the OpenVINO backend, for every architecture: its IR runs
// in f32, throughput mode (a batch split over async requests) and FP16 IR
// weights against the LibTorch reference; then its settings, its precision
// hints, its option values, an IR whose .bin is cut short and its messages for
// inputs that do not fit. The contract every backend shares (IR and ONNX
// logits at batch 1, 3 and 4, threads in force, broken files, unknown option
// keys, threads below one) is checked by conformance_test.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
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
BackendInfo openvino_backend_info();

namespace {

namespace fs = std::filesystem;
using testutil::expect_error;

constexpr int kSize = 32;
constexpr std::int64_t kBatch = 4;
constexpr double kFp32Tolerance = 1e-3;  // times max(1, max |reference logit|)
constexpr double kFp16Tolerance = 5e-2;

struct Arch {
  std::string name;
  double width_mult = 1.0;
};

std::string arch_name(const testing::TestParamInfo<Arch>& info) { return info.param.name; }
void PrintTo(const Arch& arch, std::ostream* os) { *os << arch.name; }

// One architecture's checkpoint, its exports and the reference logits of one
// batch; made once per test process (exporting resnet50 takes a while).
struct Exported {
  testutil::TempDir dir;
  fs::path checkpoint;
  artifact::Artifact ir_fp32, ir_fp16, onnx;
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
  const exporters::InferenceModel folded = exporters::load_inference_model(e->checkpoint, true);
  exporters::ExportOptions options;
  options.out = e->dir / (arch.name + ".xml");
  e->ir_fp32 = exporters::export_openvino(folded, options);
  options.out = e->dir / (arch.name + "-fp16.xml");
  options.precision = artifact::Precision::kFP16;
  e->ir_fp16 = exporters::export_openvino(folded, options);
  options.out = e->dir / (arch.name + ".onnx");
  options.precision = artifact::Precision::kFP32;
  e->onnx = exporters::export_onnx(folded, options);
  e->batch = testutil::random_batch(kBatch, kSize, 5);
  e->reference = testutil::reference_logits(e->checkpoint, e->batch, kBatch, kSize);
  slot = std::move(e);
  return *slot;
}

// Runs the first n images of the batch and compares with the reference's first n rows.
void expect_matches(Backend& backend, const Exported& e, std::int64_t n, double tolerance, const std::string& what) {
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
  const BackendInfo info = openvino_backend_info();
  check_options(info, options);
  auto backend = create_backend(info);
  backend->load(artifact, options, threads);
  return backend;
}

class OpenVinoTest : public testing::TestWithParam<Arch> {};

// (Its logits against the reference: conformance_test.cpp.)
TEST_P(OpenVinoTest, Fp32IrRunsInF32) {
  const Exported& e = exported(GetParam());
  auto backend = loaded(e.ir_fp32, {}, 2);
  EXPECT_EQ(backend->settings().at("inference_precision"), "f32");
}

TEST_P(OpenVinoTest, ThroughputWithAsyncRequestsMatchesTheReference) {
  const Exported& e = exported(GetParam());
  auto backend = loaded(e.ir_fp32, {{"hint", "throughput"}, {"async_requests", "2"}}, 2);
  expect_matches(*backend, e, kBatch, kFp32Tolerance, "IR fp32, throughput, 2 requests");
  expect_matches(*backend, e, 3, kFp32Tolerance, "IR fp32, throughput, 2 requests (uneven split)");
  expect_matches(*backend, e, 1, kFp32Tolerance, "IR fp32, throughput, 2 requests");
  auto onnx = loaded(e.onnx, {{"hint", "throughput"}, {"async_requests", "2"}}, 2);
  expect_matches(*onnx, e, kBatch, kFp32Tolerance, "ONNX, throughput, 2 requests");
}

TEST_P(OpenVinoTest, Fp16IrIsSmallerAndClose) {
  const Exported& e = exported(GetParam());
  const auto bin = [](const artifact::Artifact& a) { return fs::file_size(fs::path(a.path).replace_extension(".bin")); };
  EXPECT_LT(bin(e.ir_fp16), bin(e.ir_fp32));
  auto backend = loaded(e.ir_fp16, {}, 2);
  expect_matches(*backend, e, kBatch, kFp16Tolerance, "IR fp16 weights");
}

INSTANTIATE_TEST_SUITE_P(Architectures, OpenVinoTest,
                         testing::Values(Arch{"mobilenet_v2", 0.25}, Arch{"efficientnet_b0"}, Arch{"resnet50"}),
                         arch_name);

const Arch kSmall{"mobilenet_v2", 0.25};

TEST(OpenVinoBackendTest, DescribesItself) {
  const BackendInfo info = openvino_backend_info();
  EXPECT_EQ(info.name, "openvino");
  EXPECT_TRUE(info.available);
  EXPECT_EQ(info.formats, (std::vector<std::string>{"openvino", "onnx", "savedmodel", "tflite"}));
  EXPECT_FALSE(info.version.empty());
  // The registry lists the same backend, available.
  const BackendInfo& listed = find_backend("openvino");
  EXPECT_TRUE(listed.available) << listed.reason;
  EXPECT_EQ(listed.version, info.version);
}

TEST(OpenVinoBackendTest, ReportsTheSettingsInForce) {
  const Exported& e = exported(kSmall);
  auto latency = loaded(e.ir_fp32, {}, 1);
  const nlohmann::json s = latency->settings();
  std::cout << "openvino settings, threads=1, hint=latency: " << s.dump() << "\n";
  EXPECT_EQ(s.at("threads"), 1);
  EXPECT_EQ(s.at("hint"), "LATENCY");
  EXPECT_EQ(s.at("streams"), 1);
  EXPECT_EQ(s.at("inference_precision"), "f32");
  EXPECT_GE(s.at("optimal_infer_requests").get<int>(), 1);
  EXPECT_EQ(s.at("openvino_version"), openvino_backend_info().version);

  auto throughput = loaded(e.ir_fp32, {{"hint", "throughput"}, {"async_requests", "2"}}, 2);
  const nlohmann::json t = throughput->settings();
  std::cout << "openvino settings, threads=2, hint=throughput: " << t.dump() << "\n";
  EXPECT_EQ(t.at("threads"), 2);
  EXPECT_EQ(t.at("hint"), "THROUGHPUT");
  EXPECT_GE(t.at("streams").get<int>(), 1);
  EXPECT_EQ(t.at("async_requests"), 2);

  auto streams = loaded(e.ir_fp32, {{"hint", "throughput"}, {"streams", "1"}}, 2);
  EXPECT_EQ(streams->settings().at("streams"), 1);
  auto auto_streams = loaded(e.ir_fp32, {{"streams", "AUTO"}}, 2);
  EXPECT_GE(auto_streams->settings().at("streams").get<int>(), 1);
}

TEST(OpenVinoBackendTest, PrecisionHintIsReportedAsExecuted) {
  // bf16 and f16 are requests: on a CPU without native support the plugin may
  // run f32 instead, and settings() must say what it runs, not what was asked.
  const Exported& e = exported(kSmall);
  for (const std::string p : {"bf16", "f16"}) {
    auto backend = loaded(e.ir_fp32, {{"precision", p}}, 2);
    const nlohmann::json s = backend->settings();
    std::cout << "openvino precision=" << p << ": inference_precision " << s.at("inference_precision")
              << ", device default " << s.at("device_default_precision") << "\n";
    EXPECT_EQ(s.at("requested").at("precision"), p);
    EXPECT_TRUE(s.at("inference_precision").is_string());
    expect_matches(*backend, e, kBatch, kFp16Tolerance, "IR fp32, precision " + p);
  }
}

TEST(OpenVinoBackendTest, BadOptionValuesAreUsageErrors) {
  const BackendInfo info = openvino_backend_info();
  artifact::Artifact a;
  a.path = "never-read.xml";
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"hint", "fast"}, {"streams", "0"}, {"streams", "many"}, {"precision", "int8"}, {"async_requests", "0"}}) {
    expect_error([&] { create_backend(info)->load(a, {{key, value}}, 1); }, ExitCode::kUsage, key + "='" + value + "'");
  }
}

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// (A truncated or text .xml or .onnx, and a missing file: conformance_test.cpp.)
TEST(OpenVinoBackendTest, AnIrWhoseBinIsCutShortIsAnInputErrorNamingTheXml) {
  const Exported& e = exported(kSmall);
  testutil::TempDir dir;
  artifact::Artifact short_bin = e.ir_fp32;
  short_bin.path = dir / "shortbin.xml";
  fs::copy_file(e.ir_fp32.path, short_bin.path);
  std::vector<std::uint8_t> bin = read_bytes(fs::path(e.ir_fp32.path).replace_extension(".bin"));
  bin.resize(bin.size() / 2);
  testutil::write_bytes(dir / "shortbin.bin", bin);
  expect_error([&] { loaded(short_bin, {}, 1); }, ExitCode::kInput, "shortbin.xml");
}

TEST(OpenVinoBackendTest, AnInputOfAnotherSizeIsAnInputError) {
  const Exported& e = exported(kSmall);
  for (const artifact::Artifact& artifact : {e.onnx, e.ir_fp32}) {
    // The batch does not fit the file's 32 x 32 input.
    auto backend = loaded(artifact, {}, 1);
    const std::vector<float> big(static_cast<std::size_t>(3 * 40 * 40), 0.0F);
    const std::string file = artifact.path.filename().string();
    expect_error([&] { backend->infer(big.data(), {1, 3, 40, 40}); }, ExitCode::kInput, file);
    expect_error([&] { backend->infer(big.data(), {1, 4, 20, 20}); }, ExitCode::kInput, "N x 3 x 32 x 32");

    // The description says 40 x 40, the file 32 x 32.
    artifact::Artifact wrong = artifact;
    wrong.height = wrong.width = 40;
    expect_error([&] { loaded(wrong, {}, 1); }, ExitCode::kInput, file);
  }
}

}  // namespace
}  // namespace inferbench::backends
