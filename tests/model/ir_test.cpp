#include "model/ir.h"

#include <gtest/gtest.h>

#include "testutil/fixtures.h"

#include <functional>
#include <string>

#include "common/error.h"
#include "model/builders.h"

namespace inferbench::model {
namespace {

using testutil::expect_error;

Conv2dAttrs conv_attrs(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t s, std::int64_t p,
                       std::int64_t groups = 1, bool bias = false) {
  Conv2dAttrs a;
  a.in_channels = in;
  a.out_channels = out;
  a.kernel = {k, k};
  a.stride = {s, s};
  a.padding = {p, p};
  a.groups = groups;
  a.bias = bias;
  return a;
}

// conv 3->8 (3x3 s2 p1, bias) -> bn -> relu -> depthwise 3x3 -> add (residual) -> pool -> flatten -> linear -> softmax
Graph tiny() {
  Graph g;
  g.architecture = "tiny";
  g.num_classes = 5;
  NodeId x = g.add("stem", OpKind::kConv2d, {kGraphInput}, conv_attrs(3, 8, 3, 2, 1, 1, true));
  x = g.add("bn", OpKind::kBatchNorm2d, {x}, BatchNormAttrs{8, 1e-5, 0.1});
  const NodeId r = g.add("act", OpKind::kReLU, {x});
  x = g.add("dw", OpKind::kConv2d, {r}, conv_attrs(8, 8, 3, 1, 1, 8));
  x = g.add("add", OpKind::kAdd, {x, r});
  x = g.add("pool", OpKind::kGlobalAvgPool, {x});
  x = g.add("flat", OpKind::kFlatten, {x}, FlattenAttrs{1});
  x = g.add("drop", OpKind::kDropout, {x}, DropoutAttrs{0.5});
  x = g.add("fc", OpKind::kLinear, {x}, LinearAttrs{8, 5, true});
  g.add("prob", OpKind::kSoftmax, {x}, SoftmaxAttrs{1});
  return g;
}

TEST(IrTest, OpNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(OpKind::kSoftmax); ++i) {
    const auto op = static_cast<OpKind>(i);
    ASSERT_NE(to_string(op), "unknown");
    EXPECT_EQ(parse_op_kind(to_string(op)), op);
  }
  EXPECT_FALSE(parse_op_kind("gelu").has_value());
}

TEST(IrTest, TensorsFollowTorchNamingAndKinds) {
  const Graph g = tiny();
  validate(g);
  const auto specs = g.state_dict_specs();
  std::vector<std::string> names;
  for (const auto& t : specs) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"stem.weight", "stem.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                             "bn.running_var", "bn.num_batches_tracked", "dw.weight", "fc.weight",
                                             "fc.bias"}));
  const Node& bn = *g.find("bn");
  EXPECT_EQ(bn.params[2].kind, TensorKind::kBuffer);
  EXPECT_EQ(bn.params[4].dtype, DType::kInt64);
  EXPECT_TRUE(bn.params[4].shape.empty());
  EXPECT_EQ(bn.params[4].numel(), 1);
  EXPECT_EQ(g.find("dw")->params[0].shape, (Shape{8, 1, 3, 3}));
  // stem 8*3*9 + 8, bn 8 + 8, dw 8*9, fc 5*8 + 5; buffers 8 + 8 + 1.
  EXPECT_EQ(g.parameter_count(), 224 + 16 + 72 + 45);
  EXPECT_EQ(g.buffer_count(), 17);
}

TEST(IrTest, ShapesAndMacs) {
  const Graph g = tiny();
  const auto shapes = infer_shapes(g, {2, 3, 9, 10});
  EXPECT_EQ(shapes[0], (Shape{2, 8, 5, 5}));
  EXPECT_EQ(shapes[4], (Shape{2, 8, 5, 5}));
  EXPECT_EQ(shapes[5], (Shape{2, 8, 1, 1}));
  EXPECT_EQ(shapes[6], (Shape{2, 8}));
  EXPECT_EQ(shapes[9], (Shape{2, 5}));

  const GraphStats s = analyse(g, 9, 10);
  EXPECT_EQ(s.input, (Shape{1, 3, 9, 10}));
  EXPECT_EQ(s.nodes[0].macs, 8 * 5 * 5 * 3 * 9);  // bias not counted
  EXPECT_EQ(s.nodes[1].macs, 0);
  EXPECT_EQ(s.nodes[1].elementwise_ops, 8 * 25);
  EXPECT_EQ(s.nodes[3].macs, 8 * 5 * 5 * 1 * 9);  // depthwise: Cin / groups = 1
  EXPECT_EQ(s.nodes[8].macs, 8 * 5);
  EXPECT_EQ(s.macs, 5400 + 1800 + 40);
  EXPECT_EQ(s.params, g.parameter_count());
  EXPECT_EQ(s.buffers, g.buffer_count());
}

TEST(IrTest, WindowArithmeticMatchesPyTorch) {
  Graph g;
  g.architecture = "window";
  Conv2dAttrs a = conv_attrs(3, 4, 3, 2, 0);
  a.dilation = {2, 1};
  a.kernel = {3, 5};
  a.padding = {1, 2};
  const NodeId c = g.add("c", OpKind::kConv2d, {kGraphInput}, a);
  MaxPoolAttrs p;
  p.kernel = {3, 3};
  p.stride = {2, 2};
  p.padding = {1, 1};
  g.add("p", OpKind::kMaxPool2d, {c}, p);
  validate(g);
  // H: (11 + 2 - 2*2 - 1) / 2 + 1 = 5; W: (11 + 4 - 4 - 1) / 2 + 1 = 6; pool: (5 + 2 - 3) / 2 + 1 = 3, 3.
  const auto shapes = infer_shapes(g, {1, 3, 11, 11});
  EXPECT_EQ(shapes[0], (Shape{1, 4, 5, 6}));
  EXPECT_EQ(shapes[1], (Shape{1, 4, 3, 3}));
}

TEST(IrTest, TooSmallInputNamesTheNodeAndTheMinimum) {
  Graph g;
  g.architecture = "valid7";
  const NodeId c = g.add("stem.conv", OpKind::kConv2d, {kGraphInput}, conv_attrs(3, 4, 7, 1, 0));
  g.add("head.conv", OpKind::kConv2d, {c}, conv_attrs(4, 4, 3, 2, 0));
  EXPECT_EQ(min_input_size(g), 9);
  EXPECT_NO_THROW(infer_shapes(g, {1, 3, 9, 9}));
  expect_error([&] { infer_shapes(g, {1, 3, 4, 4}); }, ExitCode::kUsage, "'stem.conv'");
  expect_error([&] { infer_shapes(g, {1, 3, 8, 8}); }, ExitCode::kUsage, "'head.conv'");
  expect_error([&] { infer_shapes(g, {1, 3, 8, 8}); }, ExitCode::kUsage, "smallest input valid7 accepts is 9x9");
  expect_error([&] { infer_shapes(g, {1, 3, 0, 9}); }, ExitCode::kUsage, "empty dimension");
  expect_error([&] { analyse(g, 5, 5); }, ExitCode::kUsage, "too small");
}

TEST(IrTest, ChannelMismatchesNameTheNode) {
  const Graph g = tiny();
  expect_error([&] { infer_shapes(g, {1, 1, 32, 32}); }, ExitCode::kUsage, "expects 3 input channels, got 1");
  expect_error([&] { infer_shapes(g, {1, 3, 32}); }, ExitCode::kUsage, "N x C x H x W");

  Graph bad;
  bad.architecture = "bad";
  NodeId x = bad.add("c1", OpKind::kConv2d, {kGraphInput}, conv_attrs(3, 16, 1, 1, 0));
  x = bad.add("c2", OpKind::kConv2d, {x}, conv_attrs(8, 8, 1, 1, 0));
  validate(bad);  // structurally fine; the mismatch shows only with shapes
  expect_error([&] { infer_shapes(bad, {1, 3, 4, 4}); }, ExitCode::kUsage,
               "'c2' (conv2d): expects 8 input channels but its input 'c1' has 16");

  Graph add;
  add.architecture = "add";
  const NodeId a = add.add("a", OpKind::kConv2d, {kGraphInput}, conv_attrs(3, 4, 1, 2, 0));
  add.add("sum", OpKind::kAdd, {a, kGraphInput});
  expect_error([&] { infer_shapes(add, {1, 3, 4, 4}); }, ExitCode::kUsage,
               "'sum' (add): inputs 'a' 1x4x2x2 and 'input'");
}

TEST(IrTest, MulBroadcastsLikeSqueezeExcitation) {
  Graph g;
  g.architecture = "se";
  const NodeId p = g.add("pool", OpKind::kGlobalAvgPool, {kGraphInput});
  const NodeId s = g.add("gate", OpKind::kSigmoid, {p});
  g.add("mul", OpKind::kMul, {s, kGraphInput});
  EXPECT_EQ(infer_shapes(g, {2, 3, 5, 7}).back(), (Shape{2, 3, 5, 7}));
}

TEST(IrTest, BuilderMistakesAreLogicErrors) {
  Graph g = tiny();
  EXPECT_THROW(g.add("bn", OpKind::kReLU, {0}), std::logic_error);
  EXPECT_THROW(g.add("late", OpKind::kReLU, {99}), std::logic_error);
  EXPECT_THROW((void)g.nodes[0].linear(), std::logic_error);
  EXPECT_THROW((void)Graph{}.output(), std::logic_error);
}

TEST(IrTest, ValidateRejectsInconsistentGraphs) {
  {
    Graph g = tiny();
    g.nodes[3].attrs = conv_attrs(8, 8, 3, 1, 1, 3);
    expect_error([&] { validate(g); }, ExitCode::kInput, "'dw' (conv2d): groups 3 must divide");
  }
  {
    Graph g = tiny();
    g.nodes[2].attrs = DropoutAttrs{0.1};
    expect_error([&] { validate(g); }, ExitCode::kInput, "'act' (relu): attributes do not belong");
  }
  {
    Graph g = tiny();
    g.nodes[0].params[0].shape = {8, 3, 3, 4};
    expect_error([&] { validate(g); }, ExitCode::kInput, "'stem' (conv2d): its tensors do not match");
  }
  {
    Graph g = tiny();
    g.nodes[4].inputs = {3};
    expect_error([&] { validate(g); }, ExitCode::kInput, "takes 2 input(s), has 1");
  }
  {
    Graph g = tiny();
    g.nodes[7].attrs = DropoutAttrs{1.5};
    expect_error([&] { validate(g); }, ExitCode::kInput, "p must be in [0, 1]");
  }
  {
    Graph g = tiny();
    g.nodes[5].name = "stem";
    expect_error([&] { validate(g); }, ExitCode::kInput, "duplicate name");
  }
  expect_error([] { validate(Graph{}); }, ExitCode::kInput, "no nodes");
}

TEST(IrJsonTest, RoundTripsExactly) {
  const Graph g = tiny();
  const nlohmann::json j = g;
  EXPECT_EQ(j["format"], "inferbench-model-ir");
  EXPECT_EQ(j["version"], kIrVersion);
  EXPECT_EQ(j["nodes"][4]["inputs"], (nlohmann::json{"dw", "act"}));
  EXPECT_EQ(j["nodes"][0]["inputs"], (nlohmann::json{"input"}));
  // Through text, as a checkpoint stores it.
  const Graph back = nlohmann::json::parse(j.dump()).get<Graph>();
  EXPECT_EQ(back, g);
  EXPECT_EQ(nlohmann::json(back), j);
}

TEST(IrJsonTest, RoundTripsEveryBuilder) {
  for (const auto& name : known_models()) {
    const Graph g = build_model(name, 7);
    const Graph back = nlohmann::json::parse(nlohmann::json(g).dump()).get<Graph>();
    EXPECT_EQ(back, g) << name;
    EXPECT_EQ(back.parameter_count(), g.parameter_count()) << name;
  }
}

void expect_malformed(const std::function<void(nlohmann::json&)>& damage, const std::string& needle) {
  nlohmann::json j = tiny();
  damage(j);
  expect_error([&] { (void)j.get<Graph>(); }, ExitCode::kInput, needle);
}

TEST(IrJsonTest, MalformedInputFailsWithThePath) {
  using nlohmann::json;
  expect_malformed([](json& j) { j = json::array(); }, "at $: expected an object");
  expect_malformed([](json& j) { j.erase("version"); }, "at $: missing field \"version\"");
  expect_malformed([](json& j) { j["version"] = 99; }, "version 99 is not supported");
  expect_malformed([](json& j) { j["version"] = "1"; }, "$.version: expected an integer");
  expect_malformed([](json& j) { j["format"] = "onnx"; }, "$.format");
  expect_malformed([](json& j) { j["nodes"] = json::object(); }, "$.nodes: expected an array");
  expect_malformed([](json& j) { j["nodes"][2]["op"] = "gelu"; }, "$.nodes[2].op: unknown op \"gelu\"");
  expect_malformed([](json& j) { j["nodes"][0]["inputs"][0] = "dw"; },
                   "$.nodes[0].inputs[0]: \"dw\" is not the graph input or an earlier node");
  expect_malformed([](json& j) { j["nodes"][0]["inputs"][0] = 0; }, "$.nodes[0].inputs[0]: expected a node name");
  expect_malformed([](json& j) { j["nodes"][0]["attrs"]["kernel"] = "3"; },
                   "$.nodes[0].attrs.kernel: expected an array");
  expect_malformed([](json& j) { j["nodes"][0]["attrs"]["kernel"] = {3}; }, "expected [height, width]");
  expect_malformed([](json& j) { j["nodes"][0]["attrs"]["stride"] = {-1, 1}; }, "$.nodes[0].attrs.stride[0]");
  expect_malformed([](json& j) { j["nodes"][0]["attrs"].erase("groups"); },
                   "$.nodes[0].attrs: missing field \"groups\"");
  expect_malformed([](json& j) { j["nodes"][1]["attrs"]["eps"] = nullptr; }, "$.nodes[1].attrs.eps: expected a number");
  expect_malformed([](json& j) { j["nodes"][0]["attrs"]["bias"] = 1; },
                   "$.nodes[0].attrs.bias: expected true or false");
  expect_malformed([](json& j) { j["nodes"][1]["params"][2]["kind"] = "state"; }, "unknown tensor kind \"state\"");
  expect_malformed([](json& j) { j["nodes"][1]["params"][4]["dtype"] = "int8"; }, "unknown dtype \"int8\"");
  expect_malformed([](json& j) { j["nodes"][3]["name"] = "stem"; }, "$.nodes[3].name: duplicate name \"stem\"");
  // Consistent JSON, inconsistent model: caught by validate(), still kInput.
  expect_malformed([](json& j) { j["nodes"][0]["params"][0]["shape"] = {8, 3, 3, 3, 1}; }, "its tensors do not match");
  expect_malformed([](json& j) { j["nodes"][0]["params"][1]["kind"] = "buffer"; }, "its tensors do not match");
  expect_malformed([](json& j) { j["nodes"][0]["attrs"]["groups"] = 0; }, "channels and groups must be >= 1");
  expect_error([] { (void)nlohmann::json::parse("{\"format\": 1}").get<Graph>(); }, ExitCode::kInput,
               "$.format: expected a string");
}

TEST(IrSummaryTest, IsAStableTable) {
  const Graph g = tiny();
  const std::string text = summary(g, 9, 10);
  const std::string expected =
      "model tiny (5 classes), input 1x3x9x10\n"
      "name  op                output                  params            MACs\n"
      "stem  conv2d            1x8x5x5                    224           5,400\n"
      "bn    batch_norm2d      1x8x5x5                     16               0\n"
      "act   relu              1x8x5x5                      0               0\n"
      "dw    conv2d            1x8x5x5                     72           1,800\n"
      "add   add               1x8x5x5                      0               0\n"
      "pool  global_avg_pool   1x8x1x1                      0               0\n"
      "flat  flatten           1x8                          0               0\n"
      "drop  dropout           1x8                          0               0\n"
      "fc    linear            1x5                         45              40\n"
      "prob  softmax           1x5                          0               0\n"
      "total: 357 parameters (17 buffer values), 7,240 MACs (0.00 G), 10 nodes\n";
  EXPECT_EQ(text, expected);
  EXPECT_EQ(summary(g, 9, 10), text);
}

TEST(IrSummaryTest, BigModelTotals) {
  const std::string text = summary(build_model("resnet50", 1000), 224, 224);
  EXPECT_NE(text.find("layer1.0.downsample.0"), std::string::npos);
  EXPECT_NE(text.find("total: 25,557,032 parameters"), std::string::npos) << text.substr(text.size() - 200);
}

}  // namespace
}  // namespace inferbench::model
