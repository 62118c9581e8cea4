#pragma once
// Builders: one function per architecture that describes the network as a
// model IR graph, following torchvision 0.14's definitions exactly (same
// layers, same channel rounding, same state_dict key names and order), so
// torchvision's parameter counts hold and its state_dicts load by name.
//
//   mobilenet_v2     Sandler et al. 2018; width multiplier, channels rounded by _make_divisible(.., 8)
//   resnet50         He et al. 2016, Bottleneck v1.5 (stride on the 3x3 conv)
//   efficientnet_b0  Tan & Le 2019; MBConv with squeeze-excitation, SiLU, stochastic depth
//
// The graph ends with the logits (a linear layer; no softmax), like torchvision.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/ir.h"

namespace inferbench::model {

struct BuildOptions {
  // MobileNetV2 only: scales every layer's channels (then rounded to a multiple of 8). Must be > 0.
  double width_mult = 1.0;
  // Dropout before the classifier. nullopt = the architecture's default: 0.2 for
  // mobilenet_v2 and efficientnet_b0, none for resnet50 (which has no dropout in
  // torchvision; a value > 0 adds a parameter-free dropout node before fc).
  std::optional<double> dropout;
  // EfficientNet only: the final block's stochastic-depth probability; block i of n
  // gets p * i / n, as torchvision does. nullopt = 0.2.
  std::optional<double> stochastic_depth_prob;
};

// The smallest image side the trainer and `run` accept: every architecture
// here downsamples by 32, so a smaller image leaves less than one pixel to
// the last stage (it still runs thanks to padding, but learns nothing there).
inline constexpr std::int64_t kMinImageSize = 32;

// The names build_model accepts, in a fixed order.
const std::vector<std::string>& known_models();

// Builds a validated graph for `num_classes` outputs. Throws Error(kUsage) for an
// unknown name (listing the known ones), num_classes < 1, or an option out of
// range or not applicable to the architecture (e.g. width_mult for resnet50).
Graph build_model(std::string_view name, std::int64_t num_classes, const BuildOptions& options = {});

// The individual builders; options are already checked by build_model.
Graph build_mobilenet_v2(std::int64_t num_classes, double width_mult, double dropout);
Graph build_resnet50(std::int64_t num_classes, double dropout);
Graph build_efficientnet_b0(std::int64_t num_classes, double dropout, double stochastic_depth_prob);

// torchvision's channel rounding (from the TensorFlow reference): the nearest multiple
// of `divisor`, at least `min_value` (default: divisor), never more than 10% below v.
std::int64_t make_divisible(double v, std::int64_t divisor, std::optional<std::int64_t> min_value = std::nullopt);

}  // namespace inferbench::model
