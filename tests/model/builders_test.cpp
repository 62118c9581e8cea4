// The builders against torchvision 0.14: the reference files under data/ were
// written by torchvision itself (see data/gen_torchvision_reference.py), so a
// match here means a torchvision state_dict loads by name and shape, and the
// parameter and MAC counts are those of the reference implementation.
#include "model/builders.h"

#include <gtest/gtest.h>

#include "testutil/fixtures.h"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "common/error.h"

namespace inferbench::model {
namespace {

using testutil::expect_error;

const std::string kDataDir = std::string(INFERBENCH_SOURCE_DIR) + "/tests/model/data/";

struct Reference {
  std::vector<TensorSpec> tensors;  // state_dict order
  std::int64_t params = 0;
  std::map<std::string, std::int64_t> macs;  // per Conv2d/Linear module at 224x224
};

Shape parse_dims(const std::string& s) {
  Shape shape;
  if (s == "-") return shape;
  std::stringstream in(s);
  std::string d;
  while (std::getline(in, d, ',')) shape.push_back(std::stoll(d));
  return shape;
}

Reference read_reference(const std::string& arch) {
  std::ifstream in(kDataDir + arch + ".txt");
  EXPECT_TRUE(in) << "missing reference " << arch;
  Reference ref;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream fields(line);
    std::string tag, name, value;
    fields >> tag >> name >> value;
    if (tag == "param" || tag == "buffer") {
      const bool counter = name.ends_with("num_batches_tracked");
      ref.tensors.push_back({name, parse_dims(value), tag == "param" ? TensorKind::kParameter : TensorKind::kBuffer,
                             counter ? DType::kInt64 : DType::kFloat32});
    } else if (tag == "params") {
      ref.params = std::stoll(name);
    } else if (tag == "macs") {
      ref.macs[name] = std::stoll(value);
    } else {
      ADD_FAILURE() << "bad reference line: " << line;
    }
  }
  return ref;
}

// The node whose output feeds global pooling: the last feature map.
const Node& last_feature_map(const Graph& g) {
  const Node* pool = g.find("avgpool");
  EXPECT_NE(pool, nullptr);
  return g.nodes.at(static_cast<std::size_t>(pool->inputs.at(0)));
}

class ArchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ArchTest, StateDictMatchesTorchvision) {
  const Reference ref = read_reference(GetParam());
  const Graph g = build_model(GetParam(), 1000);
  const auto specs = g.state_dict_specs();
  ASSERT_EQ(specs.size(), ref.tensors.size());
  for (std::size_t i = 0; i < specs.size(); ++i) EXPECT_EQ(specs[i], ref.tensors[i]) << "state_dict entry " << i;
  EXPECT_EQ(g.parameter_count(), ref.params);
}

TEST_P(ArchTest, MacsPerLayerMatchTorchvision) {
  const Reference ref = read_reference(GetParam());
  const Graph g = build_model(GetParam(), 1000);
  const GraphStats stats = analyse(g, 224, 224);
  std::int64_t counted = 0;
  for (const Node& n : g.nodes) {
    if (n.op != OpKind::kConv2d && n.op != OpKind::kLinear) continue;
    const auto it = ref.macs.find(n.name);
    ASSERT_NE(it, ref.macs.end()) << n.name << " is not a torchvision module";
    EXPECT_EQ(stats.nodes[static_cast<std::size_t>(n.id)].macs, it->second) << n.name;
    ++counted;
  }
  EXPECT_EQ(counted, static_cast<std::int64_t>(ref.macs.size()));
}

TEST_P(ArchTest, InputSizesAndClassCounts) {
  for (std::int64_t classes : {1, 10, 1000}) {
    const Graph g = build_model(GetParam(), classes);
    EXPECT_EQ(g.num_classes, classes);
    for (std::int64_t size : {1, 32, 64, 96, 224, 227, 320}) {
      const auto shapes = infer_shapes(g, {2, 3, size, size});
      EXPECT_EQ(shapes.back(), (Shape{2, classes})) << size;
    }
    // Non-square inputs: the stride-32 networks floor each side separately.
    const auto shapes = infer_shapes(g, {1, 3, 224, 160});
    EXPECT_EQ(shapes[static_cast<std::size_t>(last_feature_map(g).id)][2], 7);
    EXPECT_EQ(shapes[static_cast<std::size_t>(last_feature_map(g).id)][3], 5);
  }
}

TEST_P(ArchTest, RejectsInputsItCannotTake) {
  const Graph g = build_model(GetParam(), 10);
  // Every conv and pool of these networks is padded, so like torchvision they take any size from 1x1 up.
  EXPECT_EQ(min_input_size(g), 1);
  expect_error([&] { infer_shapes(g, {1, 3, 0, 224}); }, ExitCode::kUsage, "empty dimension");
  expect_error([&] { infer_shapes(g, {1, 1, 224, 224}); }, ExitCode::kUsage, "expects 3 input channels, got 1");
  expect_error([&] { infer_shapes(g, {1, 3, 224}); }, ExitCode::kUsage, "N x C x H x W");
}

INSTANTIATE_TEST_SUITE_P(Torchvision, ArchTest, ::testing::Values("mobilenet_v2", "resnet50", "efficientnet_b0"));

TEST(BuildersTest, ExactParameterCounts) {
  EXPECT_EQ(build_model("mobilenet_v2", 1000).parameter_count(), 3'504'872);
  EXPECT_EQ(build_model("resnet50", 1000).parameter_count(), 25'557'032);
  EXPECT_EQ(build_model("efficientnet_b0", 1000).parameter_count(), 5'288'548);
  // 10 classes: the classifier shrinks by (1000 - 10) * (features + 1).
  EXPECT_EQ(build_model("mobilenet_v2", 10).parameter_count(), 3'504'872 - 990 * 1281);
  EXPECT_EQ(build_model("resnet50", 10).parameter_count(), 25'557'032 - 990 * 2049);
  EXPECT_EQ(build_model("efficientnet_b0", 10).parameter_count(), 5'288'548 - 990 * 1281);
}

TEST(BuildersTest, MacsMatchTheUsualFigures) {
  // torchvision's model tables: 0.30, 4.09 and 0.39 GFLOPS (multiply-adds) at 224x224.
  const std::map<std::string, double> expected{
      {"mobilenet_v2", 0.30e9}, {"resnet50", 4.09e9}, {"efficientnet_b0", 0.39e9}};
  for (const auto& [name, macs] : expected) {
    const double got = static_cast<double>(analyse(build_model(name, 1000), 224, 224).macs);
    EXPECT_NEAR(got / macs, 1.0, 0.03) << name << " " << got;
  }
}

// Other configurations (class counts, width multipliers, input sizes) against torchvision.
TEST(BuildersTest, VariantsMatchTorchvision) {
  std::ifstream in(kDataDir + "variants.txt");
  ASSERT_TRUE(in);
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream f(line);
    std::string arch, feature, output;
    std::int64_t classes = 0, size = 0, params = 0, macs = 0;
    double width = 1.0;
    f >> arch >> classes >> width >> size >> params >> macs >> feature >> output;
    ASSERT_FALSE(f.fail()) << line;
    BuildOptions options;
    options.width_mult = width;
    const Graph g = build_model(arch, classes, options);
    const GraphStats stats = analyse(g, size, size);
    EXPECT_EQ(g.parameter_count(), params) << line;
    EXPECT_EQ(stats.macs, macs) << line;
    EXPECT_EQ(shape_to_string(stats.nodes[static_cast<std::size_t>(last_feature_map(g).id)].output), feature) << line;
    EXPECT_EQ(shape_to_string(stats.nodes.back().output), output) << line;
    ++checked;
  }
  EXPECT_EQ(checked, 36);
}

TEST(BuildersTest, MakeDivisibleLikeTorchvision) {
  // Values from torchvision.models._utils._make_divisible.
  EXPECT_EQ(make_divisible(24.0, 8), 24);
  EXPECT_EQ(make_divisible(8.4, 8), 8);
  EXPECT_EQ(make_divisible(33.6, 8), 32);
  EXPECT_EQ(make_divisible(11.2, 8), 16);  // rounding down would lose more than 10%
  EXPECT_EQ(make_divisible(3.0, 8), 8);    // never below the divisor
  EXPECT_EQ(make_divisible(75.0, 8), 72);
  EXPECT_EQ(make_divisible(140.0, 16), 144);
  EXPECT_EQ(make_divisible(1792.0, 8), 1792);
  EXPECT_EQ(make_divisible(5.0, 8, 3), 8);
}

TEST(BuildersTest, MobileNetV2Structure) {
  const Graph g = build_model("mobilenet_v2", 10);
  // Depthwise 3x3 in every inverted residual; features.1 has no expansion conv.
  const Node& dw = *g.find("features.1.conv.0.0");
  EXPECT_EQ(dw.conv().groups, 32);
  EXPECT_EQ(dw.conv().in_channels, 32);
  EXPECT_EQ(g.find("features.2.conv.1.0")->conv().groups, 96);
  EXPECT_EQ(g.find("features.2.conv.1.0")->conv().stride, (Hw{2, 2}));
  EXPECT_EQ(g.find("features.0.2")->op, OpKind::kReLU6);
  EXPECT_EQ(g.find("features.3.add")->op, OpKind::kAdd);
  EXPECT_EQ(g.find("features.2.add"), nullptr);  // stride 2: no residual
  EXPECT_EQ(g.find("classifier.0")->dropout().p, 0.2);
  EXPECT_EQ(g.output().name, "classifier.1");

  BuildOptions o;
  o.dropout = 0.5;
  EXPECT_EQ(build_model("mobilenet_v2", 10, o).find("classifier.0")->dropout().p, 0.5);
}

TEST(BuildersTest, ResNet50Structure) {
  const Graph g = build_model("resnet50", 10);
  // v1.5: the stride is on the 3x3 conv and on the downsample, not on conv1.
  EXPECT_EQ(g.find("layer2.0.conv1")->conv().stride, (Hw{1, 1}));
  EXPECT_EQ(g.find("layer2.0.conv2")->conv().stride, (Hw{2, 2}));
  EXPECT_EQ(g.find("layer2.0.downsample.0")->conv().stride, (Hw{2, 2}));
  EXPECT_NE(g.find("layer1.0.downsample.0"), nullptr);  // 64 -> 256 channels
  EXPECT_EQ(g.find("layer1.1.downsample.0"), nullptr);
  EXPECT_EQ(g.find("maxpool")->op, OpKind::kMaxPool2d);
  EXPECT_EQ(g.find("dropout"), nullptr);  // torchvision's ResNet has none

  BuildOptions o;
  o.dropout = 0.3;
  const Graph d = build_model("resnet50", 10, o);
  EXPECT_EQ(d.find("dropout")->dropout().p, 0.3);
  EXPECT_EQ(d.state_dict_specs(), g.state_dict_specs());  // a dropout node owns no tensors
}

TEST(BuildersTest, EfficientNetB0Structure) {
  const Graph g = build_model("efficientnet_b0", 10);
  // Squeeze channels come from the block input, not the expanded width.
  EXPECT_EQ(g.find("features.2.0.block.2.fc1")->conv().out_channels, 4);     // 16 / 4, expanded 96
  EXPECT_EQ(g.find("features.2.0.block.2.fc1")->conv().in_channels, 96);
  EXPECT_EQ(g.find("features.1.0.block.1.fc1")->conv().out_channels, 8);     // 32 / 4, no expansion
  EXPECT_EQ(g.find("features.1.0.block.1.activation")->op, OpKind::kSiLU);
  EXPECT_EQ(g.find("features.1.0.block.1.scale_activation")->op, OpKind::kSigmoid);
  EXPECT_EQ(g.find("features.3.0.block.1.0")->conv().kernel, (Hw{5, 5}));
  EXPECT_EQ(g.find("features.3.0.block.1.0")->conv().padding, (Hw{2, 2}));
  EXPECT_EQ(g.find("features.8.0")->conv().out_channels, 1280);
  EXPECT_EQ(g.find("classifier.0")->dropout().p, 0.2);

  // Stochastic depth: block i of 16 gets 0.2 * i / 16, and only blocks with a residual carry it.
  int with_residual = 0;
  for (const Node& n : g.nodes) with_residual += n.op == OpKind::kStochasticDepth;
  EXPECT_EQ(with_residual, 9);
  EXPECT_DOUBLE_EQ(g.find("features.2.1.stochastic_depth")->stochastic_depth().p, 0.2 * 2 / 16);
  EXPECT_DOUBLE_EQ(g.find("features.6.3.stochastic_depth")->stochastic_depth().p, 0.2 * 14 / 16);
  EXPECT_EQ(g.find("features.1.0.stochastic_depth"), nullptr);

  BuildOptions o;
  o.stochastic_depth_prob = 0.4;
  o.dropout = 0.0;
  const Graph h = build_model("efficientnet_b0", 10, o);
  EXPECT_DOUBLE_EQ(h.find("features.6.3.stochastic_depth")->stochastic_depth().p, 0.4 * 14 / 16);
  EXPECT_EQ(h.find("classifier.0")->dropout().p, 0.0);
}

TEST(BuildersTest, RejectsBadNamesAndOptions) {
  expect_error([] { build_model("vgg16", 10); }, ExitCode::kUsage,
               "unknown model 'vgg16'; known models: mobilenet_v2, resnet50, efficientnet_b0");
  expect_error([] { build_model("resnet50", 0); }, ExitCode::kUsage, "number of classes");
  BuildOptions width;
  width.width_mult = 0.5;
  expect_error([&] { build_model("resnet50", 10, width); }, ExitCode::kUsage, "only to mobilenet_v2");
  width.width_mult = 0.0;
  expect_error([&] { build_model("mobilenet_v2", 10, width); }, ExitCode::kUsage, "width multiplier");
  BuildOptions sd;
  sd.stochastic_depth_prob = 0.1;
  expect_error([&] { build_model("mobilenet_v2", 10, sd); }, ExitCode::kUsage, "only to efficientnet_b0");
  sd.stochastic_depth_prob = 1.0;
  expect_error([&] { build_model("efficientnet_b0", 10, sd); }, ExitCode::kUsage, "stochastic depth probability");
  BuildOptions drop;
  drop.dropout = -0.1;
  expect_error([&] { build_model("efficientnet_b0", 10, drop); }, ExitCode::kUsage, "dropout must be in [0, 1)");
}

}  // namespace
}  // namespace inferbench::model
