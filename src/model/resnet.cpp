// ResNet50 as torchvision.models.resnet defines it: 7x7 stem, 3x3 max pool,
// four stages of Bottleneck blocks (3, 4, 6, 3), global pool and "fc".
// Bottleneck v1.5: the stride sits on the 3x3 conv ("conv2"), not the first
// 1x1 as in the original paper; it is what torchvision's weights were trained with.
#include <fmt/format.h>

#include <array>

#include "model/builders.h"
#include "model/layers.h"

namespace inferbench::model {
namespace {

constexpr std::int64_t kExpansion = 4;

// torchvision reuses one ReLU module three times per block; the IR needs unique
// names, so they are "relu1".."relu3" (no tensors, so no state_dict key is affected).
NodeId bottleneck(Graph& g, const std::string& p, NodeId input, std::int64_t in, std::int64_t planes,
                  std::int64_t stride) {
  const std::int64_t out = planes * kExpansion;
  NodeId x = layers::conv(g, p + ".conv1", input, in, planes, 1, 1, 0);
  x = layers::batch_norm(g, p + ".bn1", x, planes);
  x = g.add(p + ".relu1", OpKind::kReLU, {x});
  x = layers::conv(g, p + ".conv2", x, planes, planes, 3, stride, 1);
  x = layers::batch_norm(g, p + ".bn2", x, planes);
  x = g.add(p + ".relu2", OpKind::kReLU, {x});
  x = layers::conv(g, p + ".conv3", x, planes, out, 1, 1, 0);
  x = layers::batch_norm(g, p + ".bn3", x, out);
  NodeId identity = input;
  if (stride != 1 || in != out) {
    identity = layers::conv(g, p + ".downsample.0", input, in, out, 1, stride, 0);
    identity = layers::batch_norm(g, p + ".downsample.1", identity, out);
  }
  x = g.add(p + ".add", OpKind::kAdd, {x, identity});
  return g.add(p + ".relu3", OpKind::kReLU, {x});
}

}  // namespace

Graph build_resnet50(std::int64_t num_classes, double dropout) {
  struct Stage {
    std::int64_t planes;
    int blocks;
    std::int64_t stride;
  };
  constexpr std::array<Stage, 4> kStages{{{64, 3, 1}, {128, 4, 2}, {256, 6, 2}, {512, 3, 2}}};

  Graph g;
  g.architecture = "resnet50";
  g.num_classes = num_classes;
  NodeId x = layers::conv(g, "conv1", kGraphInput, 3, 64, 7, 2, 3);
  x = layers::batch_norm(g, "bn1", x, 64);
  x = g.add("relu", OpKind::kReLU, {x});
  MaxPoolAttrs pool;
  pool.kernel = {3, 3};
  pool.stride = {2, 2};
  pool.padding = {1, 1};
  x = g.add("maxpool", OpKind::kMaxPool2d, {x}, pool);

  std::int64_t channels = 64;
  for (std::size_t s = 0; s < kStages.size(); ++s) {
    for (int b = 0; b < kStages[s].blocks; ++b) {
      x = bottleneck(g, fmt::format("layer{}.{}", s + 1, b), x, channels, kStages[s].planes,
                     b == 0 ? kStages[s].stride : 1);
      channels = kStages[s].planes * kExpansion;
    }
  }
  layers::classifier_head(g, x, channels, num_classes,
                          {"avgpool", "flatten", dropout > 0.0 ? "dropout" : "", "fc", dropout});
  return g;
}

}  // namespace inferbench::model
