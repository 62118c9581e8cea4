// EfficientNet-B0 as torchvision.models.efficientnet defines it: a 3x3 SiLU
// stem, seven stages of MBConv blocks ("features.1" .. "features.7"), a 1x1
// conv to 4 x 320 = 1280 channels, global pool and dropout + linear.
//
// MBConv ("features.S.B.block.K"): expand 1x1 (skipped when the ratio is 1) ->
// depthwise k x k -> squeeze-excitation (squeeze = max(1, block input / 4), SiLU,
// sigmoid gate) -> linear 1x1 projection; when the block keeps its shape, the
// branch passes stochastic depth and is added to the input.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "model/builders.h"
#include "model/layers.h"

namespace inferbench::model {
namespace {

struct Stage {
  double expand;
  std::int64_t kernel;
  std::int64_t stride;
  std::int64_t in;
  std::int64_t out;
  int layers;
};
// B0 is width 1.0, depth 1.0: channels pass _make_divisible unchanged and no repeats are added.
constexpr std::array<Stage, 7> kStages{{
    {1, 3, 1, 32, 16, 1},
    {6, 3, 2, 16, 24, 2},
    {6, 5, 2, 24, 40, 2},
    {6, 3, 2, 40, 80, 3},
    {6, 5, 1, 80, 112, 3},
    {6, 5, 2, 112, 192, 4},
    {6, 3, 1, 192, 320, 1},
}};

// torchvision.ops.SqueezeExcitation: the input scaled by a per-channel gate.
NodeId squeeze_excitation(Graph& g, const std::string& p, NodeId input, std::int64_t channels, std::int64_t squeeze) {
  NodeId s = g.add(p + ".avgpool", OpKind::kGlobalAvgPool, {input});
  s = layers::conv(g, p + ".fc1", s, channels, squeeze, 1, 1, 0, 1, true);
  s = g.add(p + ".activation", OpKind::kSiLU, {s});
  s = layers::conv(g, p + ".fc2", s, squeeze, channels, 1, 1, 0, 1, true);
  s = g.add(p + ".scale_activation", OpKind::kSigmoid, {s});
  return g.add(p + ".mul", OpKind::kMul, {s, input});
}

NodeId mbconv(Graph& g, const std::string& p, NodeId input, const Stage& cfg, std::int64_t in, std::int64_t stride,
              double sd_prob) {
  const std::int64_t expanded = make_divisible(static_cast<double>(in) * cfg.expand, 8);
  NodeId x = input;
  int k = 0;
  if (expanded != in) {
    x = layers::conv_bn_act(g, fmt::format("{}.block.{}", p, k++), x, {in, expanded, 1, 1, 1, OpKind::kSiLU});
  }
  x = layers::conv_bn_act(g, fmt::format("{}.block.{}", p, k++), x,
                          {expanded, expanded, cfg.kernel, stride, expanded, OpKind::kSiLU});
  x = squeeze_excitation(g, fmt::format("{}.block.{}", p, k++), x, expanded, std::max<std::int64_t>(1, in / 4));
  x = layers::conv_bn_act(g, fmt::format("{}.block.{}", p, k), x, {expanded, cfg.out, 1, 1, 1, std::nullopt});
  if (stride == 1 && in == cfg.out) {
    x = g.add(p + ".stochastic_depth", OpKind::kStochasticDepth, {x}, StochasticDepthAttrs{sd_prob});
    x = g.add(p + ".add", OpKind::kAdd, {x, input});
  }
  return x;
}

}  // namespace

Graph build_efficientnet_b0(std::int64_t num_classes, double dropout, double stochastic_depth_prob) {
  Graph g;
  g.architecture = "efficientnet_b0";
  g.num_classes = num_classes;

  NodeId x = layers::conv_bn_act(g, "features.0", kGraphInput, {3, kStages[0].in, 3, 2, 1, OpKind::kSiLU});
  int total_blocks = 0;
  for (const Stage& s : kStages) total_blocks += s.layers;
  int block_id = 0;
  for (std::size_t s = 0; s < kStages.size(); ++s) {
    for (int b = 0; b < kStages[s].layers; ++b) {
      // Linear in the block's position, from 0 for the first block to just under p for the last.
      const double sd = stochastic_depth_prob * static_cast<double>(block_id++) / static_cast<double>(total_blocks);
      x = mbconv(g, fmt::format("features.{}.{}", s + 1, b), x, kStages[s], b == 0 ? kStages[s].in : kStages[s].out,
                 b == 0 ? kStages[s].stride : 1, sd);
    }
  }
  const std::int64_t last_in = kStages.back().out;
  const std::int64_t last_out = 4 * last_in;
  x = layers::conv_bn_act(g, fmt::format("features.{}", kStages.size() + 1), x,
                          {last_in, last_out, 1, 1, 1, OpKind::kSiLU});
  layers::classifier_head(g, x, last_out, num_classes, {"avgpool", "flatten", "classifier.0", "classifier.1", dropout});
  return g;
}

}  // namespace inferbench::model
