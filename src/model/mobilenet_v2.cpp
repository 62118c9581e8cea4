// MobileNetV2 as torchvision.models.mobilenetv2 defines it: a 3x3 stem, 17
// inverted residual blocks ("features.1" .. "features.17", each expand 1x1 ->
// depthwise 3x3 -> linear 1x1 projection), a 1x1 conv to 1280 (scaled only
// when width_mult > 1), and dropout + linear ("classifier.0", "classifier.1").
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "model/builders.h"
#include "model/layers.h"

namespace inferbench::model {
namespace {

struct Stage {
  std::int64_t expand;    // t
  std::int64_t channels;  // c
  int repeats;            // n
  std::int64_t stride;    // s (first block of the stage only)
};
constexpr std::array<Stage, 7> kStages{{
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
}};
constexpr std::int64_t kRound = 8;

// InvertedResidual: the Sequential is named "conv"; its indices shift by one
// when there is no expansion conv, as in torchvision.
NodeId inverted_residual(Graph& g, const std::string& prefix, NodeId input, std::int64_t in, std::int64_t out,
                         std::int64_t stride, std::int64_t expand) {
  const std::int64_t hidden = in * expand;
  NodeId x = input;
  int i = 0;
  if (expand != 1) {
    x = layers::conv_bn_act(g, fmt::format("{}.conv.{}", prefix, i++), x, {in, hidden, 1, 1, 1, OpKind::kReLU6});
  }
  x = layers::conv_bn_act(g, fmt::format("{}.conv.{}", prefix, i++), x,
                          {hidden, hidden, 3, stride, hidden, OpKind::kReLU6});
  x = layers::conv(g, fmt::format("{}.conv.{}", prefix, i++), x, hidden, out, 1, 1, 0);
  x = layers::batch_norm(g, fmt::format("{}.conv.{}", prefix, i), x, out);
  if (stride == 1 && in == out) x = g.add(prefix + ".add", OpKind::kAdd, {input, x});
  return x;
}

}  // namespace

Graph build_mobilenet_v2(std::int64_t num_classes, double width_mult, double dropout) {
  Graph g;
  g.architecture = "mobilenet_v2";
  g.num_classes = num_classes;

  std::int64_t channels = make_divisible(32.0 * width_mult, kRound);
  const std::int64_t last_channels = make_divisible(1280.0 * std::max(1.0, width_mult), kRound);
  NodeId x = layers::conv_bn_act(g, "features.0", kGraphInput, {3, channels, 3, 2, 1, OpKind::kReLU6});
  int index = 1;
  for (const Stage& stage : kStages) {
    const std::int64_t out = make_divisible(static_cast<double>(stage.channels) * width_mult, kRound);
    for (int r = 0; r < stage.repeats; ++r) {
      x = inverted_residual(g, fmt::format("features.{}", index++), x, channels, out, r == 0 ? stage.stride : 1,
                            stage.expand);
      channels = out;
    }
  }
  x = layers::conv_bn_act(g, fmt::format("features.{}", index), x, {channels, last_channels, 1, 1, 1, OpKind::kReLU6});
  // torchvision pools with the functional adaptive_avg_pool2d, so these two nodes have no module name.
  layers::classifier_head(g, x, last_channels, num_classes,
                          {"avgpool", "flatten", "classifier.0", "classifier.1", dropout});
  return g;
}

}  // namespace inferbench::model
