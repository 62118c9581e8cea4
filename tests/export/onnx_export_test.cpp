// export_onnx for every architecture: the file is read back with the ONNX
// library and checked for validity, names, the dynamic batch, the op mapping,
// the initializers (bit-identical to the folded weights) and the metadata.
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <opencv2/core/cvdef.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <ostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "export/exporter.h"
#include "model/ir.h"
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
  std::set<std::string> ops;  // op types the export must use
};

std::string arch_name(const testing::TestParamInfo<Arch>& info) { return info.param.name; }
void PrintTo(const Arch& arch, std::ostream* os) { *os << arch.name; }  // for gtest's messages

fs::path checkpoint(const testutil::TempDir& dir, const std::string& arch, double width_mult) {
  testutil::CheckpointSpec spec;
  spec.architecture = arch;
  spec.width_mult = width_mult;
  spec.image_size = kSize;
  return testutil::make_checkpoint(dir.path(), spec);
}

onnx::ModelProto read_model(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto model;
  EXPECT_TRUE(model.ParseFromIstream(&in)) << path;
  return model;
}

// "batch" for a symbolic dim, else the value.
std::vector<std::string> dims(const onnx::ValueInfoProto& v) {
  std::vector<std::string> out;
  for (const auto& d : v.type().tensor_type().shape().dim())
    out.push_back(d.has_dim_param() ? d.dim_param() : std::to_string(d.dim_value()));
  return out;
}

std::map<std::string, std::string> metadata(const onnx::ModelProto& m) {
  std::map<std::string, std::string> out;
  for (const auto& p : m.metadata_props()) out[p.key()] = p.value();
  return out;
}

class OnnxExportTest : public testing::TestWithParam<Arch> {};

TEST_P(OnnxExportTest, WritesAValidModelOfTheFoldedGraph) {
  const Arch& arch = GetParam();
  testutil::TempDir dir;
  const InferenceModel folded = load_inference_model(checkpoint(dir, arch.name, arch.width_mult), true);
  ExportOptions options;
  options.out = dir / "out/nested/model.onnx";  // parents are created
  const artifact::Artifact artifact = export_onnx(folded, options);

  EXPECT_EQ(artifact.format, "onnx");
  EXPECT_EQ(artifact.path, options.out);
  EXPECT_EQ(artifact.model, arch.name);
  EXPECT_EQ(artifact.height, kSize);
  EXPECT_EQ(artifact.width, kSize);
  EXPECT_TRUE(artifact.dynamic_batch);
  EXPECT_EQ(artifact.source.at("exporter").at("opset"), 17);

  const onnx::ModelProto proto = read_model(options.out);
  EXPECT_NO_THROW(onnx::checker::check_model(proto));
  EXPECT_EQ(proto.producer_name(), "inferbench");
  EXPECT_FALSE(proto.producer_version().empty());
  EXPECT_FALSE(proto.doc_string().empty());
  ASSERT_EQ(proto.opset_import_size(), 1);
  EXPECT_EQ(proto.opset_import(0).domain(), "");
  EXPECT_EQ(proto.opset_import(0).version(), 17);

  const onnx::GraphProto& g = proto.graph();
  ASSERT_EQ(g.input_size(), 1);
  EXPECT_EQ(g.input(0).name(), "input");
  EXPECT_EQ(g.input(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(dims(g.input(0)), (std::vector<std::string>{"batch", "3", "32", "32"}));
  ASSERT_EQ(g.output_size(), 1);
  EXPECT_EQ(g.output(0).name(), "logits");
  EXPECT_EQ(dims(g.output(0)), (std::vector<std::string>{"batch", "3"}));

  std::set<std::string> ops;
  for (const auto& n : g.node()) ops.insert(n.op_type());
  EXPECT_FALSE(ops.contains("BatchNormalization")) << "batch norm should be folded";
  EXPECT_FALSE(ops.contains("Dropout"));
  EXPECT_FALSE(ops.contains("Identity"));
  for (const std::string& op : arch.ops) EXPECT_TRUE(ops.contains(op)) << op;
  EXPECT_EQ(g.node(g.node_size() - 1).output(0), "logits");

  // Every folded weight is an initializer under its IR name, with its exact bytes;
  // the only others are the shared Clip bounds of ReLU6.
  std::map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : g.initializer()) inits[t.name()] = &t;
  const std::size_t extra = ops.contains("Clip") ? 2 : 0;
  EXPECT_EQ(inits.size(), folded.weights.size() + extra);
  EXPECT_EQ(g.initializer_size(), static_cast<int>(inits.size())) << "duplicate initializer names";
  for (const auto& [name, w] : folded.weights) {
    const auto it = inits.find(name);
    ASSERT_NE(it, inits.end()) << name;
    const onnx::TensorProto& t = *it->second;
    EXPECT_EQ(model::Shape(t.dims().begin(), t.dims().end()), w.shape) << name;
    ASSERT_EQ(t.raw_data().size(), w.values.size() * sizeof(float)) << name;
    EXPECT_EQ(std::memcmp(t.raw_data().data(), w.values.data(), t.raw_data().size()), 0) << name;
  }

  const auto meta = metadata(proto);
  EXPECT_EQ(meta.at("architecture"), arch.name);
  EXPECT_EQ(nlohmann::json::parse(meta.at("classes")), (nlohmann::json{"class0", "class1", "class2"}));
  const auto preprocess = nlohmann::json::parse(meta.at("preprocess")).get<data::PreprocessConfig>();
  EXPECT_EQ(preprocess.image_size, kSize);
  const auto source = nlohmann::json::parse(meta.at("source"));
  EXPECT_TRUE(source.contains("checkpoint_hash"));
  EXPECT_EQ(source.at("folded_batch_norms"), folded.folded_batch_norms);
}

INSTANTIATE_TEST_SUITE_P(
    Architectures, OnnxExportTest,
    testing::Values(Arch{"mobilenet_v2", 0.25, {"Conv", "Clip", "Add", "GlobalAveragePool", "Flatten", "Gemm"}},
                    Arch{"efficientnet_b0", 1.0, {"Conv", "Sigmoid", "Mul", "Add", "GlobalAveragePool", "Gemm"}},
                    Arch{"resnet50", 1.0, {"Conv", "Relu", "MaxPool", "Add", "GlobalAveragePool", "Gemm"}}),
    arch_name);

// The cheap architecture for the option and error cases.
class OnnxExportOptionsTest : public testing::Test {
 protected:
  void SetUp() override { model_ = load_inference_model(checkpoint(dir_, "mobilenet_v2", 0.25), true); }
  testutil::TempDir dir_;
  InferenceModel model_;
};

TEST_F(OnnxExportOptionsTest, StaticBatchAndOtherSizesWhenAsked) {
  ExportOptions options;
  options.out = dir_ / "static.onnx";
  options.dynamic_batch = false;
  options.height = 48;
  options.width = 40;
  options.opset = 13;
  export_onnx(model_, options);
  const onnx::ModelProto proto = read_model(options.out);
  EXPECT_NO_THROW(onnx::checker::check_model(proto));
  EXPECT_EQ(proto.opset_import(0).version(), 13);
  EXPECT_EQ(dims(proto.graph().input(0)), (std::vector<std::string>{"1", "3", "48", "40"}));
  EXPECT_EQ(dims(proto.graph().output(0)), (std::vector<std::string>{"1", "3"}));
}

TEST_F(OnnxExportOptionsTest, UnfoldedBatchNormBecomesBatchNormalization) {
  const InferenceModel unfolded = load_inference_model(dir_ / "mobilenet_v2.ckpt", /*fold_batch_norm=*/false);
  ExportOptions options;
  options.out = dir_ / "unfolded.onnx";
  export_onnx(unfolded, options);
  const onnx::ModelProto proto = read_model(options.out);
  EXPECT_NO_THROW(onnx::checker::check_model(proto));
  int batch_norms = 0;
  for (const auto& n : proto.graph().node()) batch_norms += n.op_type() == "BatchNormalization" ? 1 : 0;
  int expected = 0;
  for (const auto& n : unfolded.graph.nodes) expected += n.op == model::OpKind::kBatchNorm2d ? 1 : 0;
  EXPECT_GT(expected, 0);
  EXPECT_EQ(batch_norms, expected);
}

TEST_F(OnnxExportOptionsTest, RejectsOpsetsItCannotWriteAndOtherPrecisions) {
  ExportOptions options;
  options.out = dir_ / "bad.onnx";
  options.opset = 12;
  expect_error([&] { export_onnx(model_, options); }, ExitCode::kUsage, "opset 12");
  options.opset = 99;
  expect_error([&] { export_onnx(model_, options); }, ExitCode::kUsage, "opset 99");
  options.opset = 17;
  options.precision = artifact::Precision::kBF16;
  expect_error([&] { export_onnx(model_, options); }, ExitCode::kUsage, "precision 'bf16' is not supported (fp32 or fp16)");
  EXPECT_FALSE(fs::exists(options.out));
}

// FP16: every weight stored as float16 (each the FP32 weight rounded to the
// nearest half), the float32 input cast to float16 first and the logits cast
// back last, so the file's interface is the FP32 file's.
TEST_F(OnnxExportOptionsTest, Fp16StoresRoundedHalfWeightsBetweenFloatCasts) {
  ExportOptions options;
  options.out = dir_ / "m.onnx";
  export_onnx(model_, options);
  options.out = dir_ / "m-fp16.onnx";
  options.precision = artifact::Precision::kFP16;
  const artifact::Artifact a = export_onnx(model_, options);
  EXPECT_EQ(a.precision, artifact::Precision::kFP16);
  EXPECT_EQ(a.source["exporter"]["weights"], "fp16");
  const onnx::ModelProto full = read_model(dir_ / "m.onnx"), half = read_model(options.out);
  EXPECT_NO_THROW(onnx::checker::check_model(half));
  EXPECT_EQ(half.graph().input(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(half.graph().output(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  const auto& nodes = half.graph().node();
  ASSERT_GE(nodes.size(), 2);
  EXPECT_EQ(nodes[0].op_type(), "Cast");
  EXPECT_EQ(nodes[0].input(0), "input");
  EXPECT_EQ(nodes[0].attribute(0).i(), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(nodes[nodes.size() - 1].op_type(), "Cast");
  EXPECT_EQ(nodes[nodes.size() - 1].output(0), "logits");
  EXPECT_EQ(nodes[nodes.size() - 1].attribute(0).i(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(nodes.size(), full.graph().node().size() + 2);  // the same graph between the two casts
  std::map<std::string, const onnx::TensorProto*> fp32;
  for (const auto& t : full.graph().initializer()) fp32[t.name()] = &t;
  int checked = 0;
  for (const auto& t : half.graph().initializer()) {
    ASSERT_TRUE(fp32.count(t.name())) << t.name();
    const onnx::TensorProto& f = *fp32[t.name()];
    if (f.data_type() != onnx::TensorProto::FLOAT) {
      EXPECT_EQ(t.data_type(), f.data_type()) << t.name();  // shapes of Reshape stay int64
      continue;
    }
    ASSERT_EQ(t.data_type(), onnx::TensorProto::FLOAT16) << t.name();
    const std::size_t n = f.raw_data().size() / sizeof(float);
    ASSERT_EQ(t.raw_data().size(), n * sizeof(std::uint16_t)) << t.name();
    for (std::size_t i = 0; i < n; ++i) {
      float x = 0;
      std::uint16_t h = 0;
      std::memcpy(&x, f.raw_data().data() + i * sizeof(float), sizeof x);
      std::memcpy(&h, t.raw_data().data() + i * sizeof h, sizeof h);
      const float back = static_cast<float>(cv::float16_t::fromBits(h));
      // Nearest half: within half a unit in the last place (2^-11 relative), or the smallest subnormal step.
      ASSERT_LE(std::abs(back - x), std::max(std::abs(x) * 0.00049f, 3e-8f)) << t.name() << "[" << i << "] " << x;
      ++checked;
    }
  }
  EXPECT_GT(checked, 1000);
}

TEST_F(OnnxExportOptionsTest, UnwritableOutputIsAnOutputError) {
  // A parent "folder" that is a regular file cannot be created (even as root).
  testutil::write_text(dir_ / "blocker", "a file, not a folder\n");
  ExportOptions options;
  options.out = dir_ / "blocker/model.onnx";
  expect_error([&] { export_onnx(model_, options); }, ExitCode::kOutput, "blocker");
}

// A small graph with every op the IR has (the builders use only some), with
// random weights: each must map to ONNX the checker and strict shape inference accept.
InferenceModel every_op_model(bool fold) {
  using model::OpKind;
  model::Graph g;
  g.architecture = "every-op";
  g.num_classes = 3;
  const auto conv = [](std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t groups, bool bias) {
    model::Conv2dAttrs a;
    a.in_channels = in;
    a.out_channels = out;
    a.kernel = {k, k};
    a.padding = {k / 2, k / 2};
    a.groups = groups;
    a.bias = bias;
    return a;
  };
  const auto c = g.add("conv", OpKind::kConv2d, {model::kGraphInput}, conv(3, 8, 3, 1, false));
  const auto bn = g.add("bn", OpKind::kBatchNorm2d, {c}, model::BatchNormAttrs{8, 1e-3, 0.1});
  const auto hs = g.add("hardswish", OpKind::kHardSwish, {bn});
  const auto pool = g.add("pool", OpKind::kMaxPool2d, {hs}, model::MaxPoolAttrs{{3, 3}, {2, 2}, {1, 1}});
  const auto dw = g.add("dw", OpKind::kConv2d, {pool}, conv(8, 8, 3, 8, false));
  const auto r6 = g.add("relu6", OpKind::kReLU6, {dw});
  const auto se = g.add("se.pool", OpKind::kGlobalAvgPool, {r6});
  const auto fc = g.add("se.fc", OpKind::kConv2d, {se}, conv(8, 8, 1, 1, true));
  const auto gate = g.add("se.gate", OpKind::kSigmoid, {fc});
  const auto mul = g.add("se.mul", OpKind::kMul, {r6, gate});
  const auto act = g.add("silu", OpKind::kSiLU, {mul});
  const auto add = g.add("add", OpKind::kAdd, {act, pool});
  const auto relu = g.add("relu", OpKind::kReLU, {add});
  const auto gap = g.add("gap", OpKind::kGlobalAvgPool, {relu});
  const auto f2 = g.add("flatten2", OpKind::kFlatten, {gap}, model::FlattenAttrs{2});  // N x 8 x 1
  const auto f1 = g.add("flatten", OpKind::kFlatten, {f2}, model::FlattenAttrs{1});   // N x 8
  const auto drop = g.add("dropout", OpKind::kDropout, {f1}, model::DropoutAttrs{0.2});
  const auto lin = g.add("fc", OpKind::kLinear, {drop}, model::LinearAttrs{8, 3, true});
  g.add("softmax", OpKind::kSoftmax, {lin}, model::SoftmaxAttrs{1});

  std::mt19937 gen(3);
  std::uniform_real_distribution<float> d(0.5F, 1.5F);  // positive, so running_var is valid too
  Weights weights;
  for (const model::TensorSpec& t : g.state_dict_specs()) {
    if (t.dtype != model::DType::kFloat32) continue;
    Weight w{t.shape, std::vector<float>(static_cast<std::size_t>(t.numel()))};
    for (float& v : w.values) v = d(gen);
    weights[t.name] = std::move(w);
  }
  InferenceModel m = make_inference_model(g, weights, fold);
  m.classes = {"a", "b", "c"};
  m.preprocess = data::PreprocessConfig::preset("imagenet", 16);
  return m;
}

TEST(OnnxExportOpsTest, EveryIrOpMapsToValidOnnx) {
  testutil::TempDir dir;
  for (const int opset : {13, 17}) {
    for (const bool fold : {false, true}) {
      SCOPED_TRACE(testing::Message() << "opset " << opset << (fold ? ", folded" : ", unfolded"));
      ExportOptions options;
      options.out = dir / "every-op.onnx";
      options.opset = opset;
      export_onnx(every_op_model(fold), options);
      const onnx::ModelProto proto = read_model(options.out);
      EXPECT_NO_THROW(onnx::checker::check_model(proto));
      std::set<std::string> ops;
      for (const auto& n : proto.graph().node()) ops.insert(n.op_type());
      std::set<std::string> expected{"Conv", "MaxPool", "Clip",    "GlobalAveragePool", "Sigmoid", "Mul",
                                     "Add",  "Relu",    "Reshape", "Flatten",           "Gemm",    "Softmax"};
      expected.insert(opset >= 14 ? "HardSwish" : "HardSigmoid");
      if (!fold) expected.insert("BatchNormalization");
      EXPECT_EQ(ops, expected);
      EXPECT_EQ(dims(proto.graph().input(0)), (std::vector<std::string>{"batch", "3", "16", "16"}));
    }
  }
}

}  // namespace
}  // namespace inferbench::exporters
