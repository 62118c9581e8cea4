#pragma once
// Internal to the builders: the composite blocks torchvision's definitions are
// made of, appended to a Graph under torchvision's module names.
#include <cstdint>
#include <optional>
#include <string>

#include "model/ir.h"

namespace inferbench::model::layers {

// torchvision.ops.Conv2dNormActivation: conv (no bias) "<prefix>.0", batch norm
// "<prefix>.1" and, unless act is nullopt, the activation "<prefix>.2".
// Padding is (kernel - 1) / 2, "same" for odd kernels. Returns the last node.
struct ConvBnAct {
  std::int64_t in = 0;
  std::int64_t out = 0;
  std::int64_t kernel = 3;
  std::int64_t stride = 1;
  std::int64_t groups = 1;
  std::optional<OpKind> act = OpKind::kReLU;
};
NodeId conv_bn_act(Graph& g, const std::string& prefix, NodeId input, const ConvBnAct& spec);

// A conv node with square kernel/stride/padding.
NodeId conv(Graph& g, const std::string& name, NodeId input, std::int64_t in, std::int64_t out, std::int64_t kernel,
            std::int64_t stride, std::int64_t padding, std::int64_t groups = 1, bool bias = false);
// A batch norm node with PyTorch's defaults (eps 1e-5, momentum 0.1).
NodeId batch_norm(Graph& g, const std::string& name, NodeId input, std::int64_t features);

// The shared tail: global average pool, flatten, optional dropout, linear.
// Names are given per architecture because torchvision's differ.
struct Head {
  std::string pool = "avgpool";
  std::string flatten = "flatten";
  std::string dropout;  // dropout node name; no dropout node when empty
  std::string linear;
  double p = 0.0;
};
NodeId classifier_head(Graph& g, NodeId input, std::int64_t features, std::int64_t num_classes, const Head& head);

}  // namespace inferbench::model::layers
