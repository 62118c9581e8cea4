// export_openvino for every architecture: the IR is read back with OpenVINO
// and checked for names, shapes (dynamic or fixed batch), the op mapping, the
// description in rt_info, FP16 weights, the atomic write and its errors. The
// numbers themselves are checked against LibTorch in backends/openvino_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <openvino/openvino.hpp>
#include <set>
#include <ostream>
#include <string>

#include "common/error.h"
#include "export/exporter.h"
#include "testutil/checkpoint_fixture.h"
#include "testutil/fixtures.h"

namespace inferbench::exporters {
namespace {

namespace fs = std::filesystem;
using testutil::expect_error;

constexpr int kSize = 32;

struct Arch {
  std::string name;
  double width_mult = 1.0;
  std::set<std::string> ops;  // OpenVINO op types the export must use
};

std::string arch_name(const testing::TestParamInfo<Arch>& info) { return info.param.name; }
void PrintTo(const Arch& arch, std::ostream* os) { *os << arch.name; }

InferenceModel folded_model(const testutil::TempDir& dir, const std::string& arch, double width_mult) {
  testutil::CheckpointSpec spec;
  spec.architecture = arch;
  spec.width_mult = width_mult;
  spec.image_size = kSize;
  return load_inference_model(testutil::make_checkpoint(dir.path(), spec), true);
}

std::set<std::string> op_types(const ov::Model& m) {
  std::set<std::string> out;
  for (const auto& op : m.get_ops()) out.insert(op->get_type_name());
  return out;
}

// Files in `dir` whose name contains ".tmp": what an interrupted write would leave.
std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) out.push_back(e.path().filename().string());
  return out;
}

class OpenVinoExportTest : public testing::TestWithParam<Arch> {};

TEST_P(OpenVinoExportTest, WritesAnIrOfTheFoldedGraph) {
  const Arch& arch = GetParam();
  testutil::TempDir dir;
  const InferenceModel folded = folded_model(dir, arch.name, arch.width_mult);
  ExportOptions options;
  options.out = dir / "out/nested/model.xml";  // parents are created
  const artifact::Artifact artifact = export_openvino(folded, options);

  EXPECT_EQ(artifact.format, "openvino");
  EXPECT_EQ(artifact.precision, artifact::Precision::kFP32);
  EXPECT_EQ(artifact.path, options.out);
  EXPECT_EQ(artifact.model, arch.name);
  EXPECT_EQ(artifact.height, kSize);
  EXPECT_EQ(artifact.width, kSize);
  EXPECT_TRUE(artifact.dynamic_batch);
  EXPECT_EQ(artifact.classes, folded.classes);
  EXPECT_EQ(artifact.source.at("exporter").at("format"), "openvino");
  ASSERT_TRUE(fs::is_regular_file(options.out));
  ASSERT_TRUE(fs::is_regular_file(dir / "out/nested/model.bin"));
  EXPECT_TRUE(leftovers(dir / "out/nested").empty());

  ov::Core core;
  const std::shared_ptr<ov::Model> m = core.read_model((dir / "out/nested/model.xml").string());
  ASSERT_EQ(m->inputs().size(), 1U);
  ASSERT_EQ(m->outputs().size(), 1U);
  EXPECT_TRUE(m->input().get_names().contains("input"));
  EXPECT_TRUE(m->output().get_names().contains("logits"));
  EXPECT_EQ(m->input().get_element_type(), ov::element::f32);
  EXPECT_EQ(m->input().get_partial_shape(), ov::PartialShape({ov::Dimension::dynamic(), 3, kSize, kSize}));
  EXPECT_EQ(m->output().get_partial_shape(), ov::PartialShape({ov::Dimension::dynamic(), 3}));

  const std::set<std::string> ops = op_types(*m);
  for (const std::string& op : arch.ops) EXPECT_TRUE(ops.contains(op)) << "no " << op << " in the IR";
  EXPECT_FALSE(ops.contains("BatchNormInference")) << "batch norm was folded";

  // The description travels in rt_info, as JSON strings.
  EXPECT_EQ(m->get_rt_info<std::string>("inferbench", "architecture"), arch.name);
  EXPECT_EQ(nlohmann::json::parse(m->get_rt_info<std::string>("inferbench", "classes")),
            nlohmann::json(folded.classes));
  EXPECT_EQ(nlohmann::json::parse(m->get_rt_info<std::string>("inferbench", "preprocess")),
            nlohmann::json(folded.preprocess));
  EXPECT_EQ(nlohmann::json::parse(m->get_rt_info<std::string>("inferbench", "source")).at("exporter").at("format"),
            "openvino");
}

TEST_P(OpenVinoExportTest, Fp16StoresHalfTheWeights) {
  const Arch& arch = GetParam();
  testutil::TempDir dir;
  const InferenceModel folded = folded_model(dir, arch.name, arch.width_mult);
  ExportOptions options;
  options.out = dir / "fp32.xml";
  export_openvino(folded, options);
  options.out = dir / "fp16.xml";
  options.precision = artifact::Precision::kFP16;
  const artifact::Artifact artifact = export_openvino(folded, options);
  EXPECT_EQ(artifact.precision, artifact::Precision::kFP16);

  const auto fp32 = fs::file_size(dir / "fp32.bin");
  const auto fp16 = fs::file_size(dir / "fp16.bin");
  EXPECT_LT(fp16, fp32 * 6 / 10) << "fp16 " << fp16 << " bytes, fp32 " << fp32;

  // Weights are f16 Constants decompressed to f32; the graph's interface stays f32.
  ov::Core core;
  const std::shared_ptr<ov::Model> m = core.read_model((dir / "fp16.xml").string());
  bool f16_constant = false;
  for (const auto& op : m->get_ops()) {
    if (std::string(op->get_type_name()) == "Constant" && op->get_output_element_type(0) == ov::element::f16) {
      f16_constant = true;
    }
  }
  EXPECT_TRUE(f16_constant);
  EXPECT_EQ(m->input().get_element_type(), ov::element::f32);
  EXPECT_EQ(m->output().get_element_type(), ov::element::f32);
}

INSTANTIATE_TEST_SUITE_P(
    Architectures, OpenVinoExportTest,
    testing::Values(Arch{"mobilenet_v2", 0.25, {"GroupConvolution", "Convolution", "Clamp", "ReduceMean", "MatMul"}},
                    Arch{"efficientnet_b0", 1.0, {"GroupConvolution", "Swish", "Sigmoid", "Multiply", "ReduceMean"}},
                    Arch{"resnet50", 1.0, {"Convolution", "Relu", "MaxPool", "Add", "ReduceMean", "Reshape"}}),
    arch_name);

TEST(OpenVinoExportOptionsTest, FixedBatchAndOtherInputSize) {
  testutil::TempDir dir;
  const InferenceModel folded = folded_model(dir, "mobilenet_v2", 0.25);
  ExportOptions options;
  options.out = dir / "fixed.xml";
  options.dynamic_batch = false;
  options.height = 48;
  options.width = 40;
  const artifact::Artifact artifact = export_openvino(folded, options);
  EXPECT_FALSE(artifact.dynamic_batch);
  EXPECT_EQ(artifact.height, 48);
  EXPECT_EQ(artifact.width, 40);
  ov::Core core;
  const auto m = core.read_model(options.out.string());
  EXPECT_EQ(m->input().get_partial_shape(), ov::PartialShape({1, 3, 48, 40}));
  EXPECT_EQ(m->output().get_partial_shape(), ov::PartialShape({1, 3}));
}

TEST(OpenVinoExportOptionsTest, UnfoldedBatchNormBecomesBatchNormInference) {
  testutil::TempDir dir;
  testutil::CheckpointSpec spec;
  spec.width_mult = 0.25;
  spec.image_size = kSize;
  const InferenceModel unfolded = load_inference_model(testutil::make_checkpoint(dir.path(), spec), false);
  ExportOptions options;
  options.out = dir / "unfolded.xml";
  export_openvino(unfolded, options);
  ov::Core core;
  EXPECT_TRUE(op_types(*core.read_model(options.out.string())).contains("BatchNormInference"));
}

TEST(OpenVinoExportOptionsTest, RewritesAnExistingArtifact) {
  testutil::TempDir dir;
  const InferenceModel folded = folded_model(dir, "mobilenet_v2", 0.25);
  ExportOptions options;
  options.out = dir / "model.xml";
  options.precision = artifact::Precision::kFP16;
  export_openvino(folded, options);
  options.precision = artifact::Precision::kFP32;
  export_openvino(folded, options);  // replaces both files
  ov::Core core;
  for (const auto& op : core.read_model(options.out.string())->get_ops()) {
    EXPECT_NE(op->get_output_element_type(0), ov::element::f16) << op->get_friendly_name();
  }
  EXPECT_TRUE(leftovers(dir.path()).empty());
}

TEST(OpenVinoExportOptionsTest, BadOptionsAndUnwritableOutput) {
  testutil::TempDir dir;
  const InferenceModel folded = folded_model(dir, "mobilenet_v2", 0.25);
  ExportOptions options;
  options.out = dir / "model.xml";
  options.precision = artifact::Precision::kINT8;
  expect_error([&] { export_openvino(folded, options); }, ExitCode::kUsage, "int8");

  options.precision = artifact::Precision::kFP32;
  options.out = dir / "model.onnx";
  expect_error([&] { export_openvino(folded, options); }, ExitCode::kUsage, ".xml");

  // A parent that is a file cannot become a folder (permissions would not stop root).
  testutil::write_text(dir / "blocker", "a file\n");
  options.out = dir / "blocker/model.xml";
  expect_error([&] { export_openvino(folded, options); }, ExitCode::kOutput, "blocker");
}

}  // namespace
}  // namespace inferbench::exporters
