#include "model/builders.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "model/layers.h"

namespace inferbench::model {

namespace layers {

NodeId conv(Graph& g, const std::string& name, NodeId input, std::int64_t in, std::int64_t out, std::int64_t kernel,
            std::int64_t stride, std::int64_t padding, std::int64_t groups, bool bias) {
  Conv2dAttrs a;
  a.in_channels = in;
  a.out_channels = out;
  a.kernel = {kernel, kernel};
  a.stride = {stride, stride};
  a.padding = {padding, padding};
  a.groups = groups;
  a.bias = bias;
  return g.add(name, OpKind::kConv2d, {input}, a);
}

NodeId batch_norm(Graph& g, const std::string& name, NodeId input, std::int64_t features) {
  return g.add(name, OpKind::kBatchNorm2d, {input}, BatchNormAttrs{features, 1e-5, 0.1});
}

NodeId conv_bn_act(Graph& g, const std::string& prefix, NodeId input, const ConvBnAct& spec) {
  NodeId x = conv(g, prefix + ".0", input, spec.in, spec.out, spec.kernel, spec.stride, (spec.kernel - 1) / 2,
                  spec.groups);
  x = batch_norm(g, prefix + ".1", x, spec.out);
  if (spec.act) x = g.add(prefix + ".2", *spec.act, {x});
  return x;
}

NodeId classifier_head(Graph& g, NodeId input, std::int64_t features, std::int64_t num_classes, const Head& head) {
  NodeId x = g.add(head.pool, OpKind::kGlobalAvgPool, {input});
  x = g.add(head.flatten, OpKind::kFlatten, {x}, FlattenAttrs{1});
  if (!head.dropout.empty()) x = g.add(head.dropout, OpKind::kDropout, {x}, DropoutAttrs{head.p});
  return g.add(head.linear, OpKind::kLinear, {x}, LinearAttrs{features, num_classes, true});
}

}  // namespace layers

const std::vector<std::string>& known_models() {
  static const std::vector<std::string> names{"mobilenet_v2", "resnet50", "efficientnet_b0"};
  return names;
}

std::int64_t make_divisible(double v, std::int64_t divisor, std::optional<std::int64_t> min_value) {
  const std::int64_t floor_min = min_value.value_or(divisor);
  // Python's int() truncates; v is positive here, so truncation is floor.
  const auto rounded = static_cast<std::int64_t>(v + static_cast<double>(divisor) / 2.0) / divisor * divisor;
  std::int64_t out = std::max(floor_min, rounded);
  if (static_cast<double>(out) < 0.9 * v) out += divisor;
  return out;
}

namespace {

void check_probability(std::string_view what, double p) {
  // 1.0 would zero everything during training: a mistake, not a setting.
  if (!std::isfinite(p) || p < 0.0 || p >= 1.0)
    fail(ExitCode::kUsage, fmt::format("{} must be in [0, 1), got {}", what, p));
}

}  // namespace

Graph build_model(std::string_view name, std::int64_t num_classes, const BuildOptions& options) {
  const auto& known = known_models();
  if (std::find(known.begin(), known.end(), name) == known.end())
    fail(ExitCode::kUsage, fmt::format("unknown model '{}'; known models: {}", name, fmt::join(known, ", ")));
  if (num_classes < 1) fail(ExitCode::kUsage, fmt::format("the number of classes must be >= 1, got {}", num_classes));
  if (!std::isfinite(options.width_mult) || options.width_mult <= 0.0 || options.width_mult > 10.0)
    fail(ExitCode::kUsage, fmt::format("width multiplier must be in (0, 10], got {}", options.width_mult));
  if (options.width_mult != 1.0 && name != "mobilenet_v2")
    fail(ExitCode::kUsage, fmt::format("a width multiplier applies only to mobilenet_v2, not {}", name));
  if (options.stochastic_depth_prob && name != "efficientnet_b0")
    fail(ExitCode::kUsage, fmt::format("stochastic depth applies only to efficientnet_b0, not {}", name));
  if (options.dropout) check_probability("dropout", *options.dropout);
  if (options.stochastic_depth_prob) check_probability("stochastic depth probability", *options.stochastic_depth_prob);

  Graph g;
  if (name == "mobilenet_v2") {
    g = build_mobilenet_v2(num_classes, options.width_mult, options.dropout.value_or(0.2));
  } else if (name == "resnet50") {
    g = build_resnet50(num_classes, options.dropout.value_or(0.0));
  } else {
    g = build_efficientnet_b0(num_classes, options.dropout.value_or(0.2), options.stochastic_depth_prob.value_or(0.2));
  }
  // A builder that produced an invalid graph is a bug, not a user error.
  try {
    validate(g);
  } catch (const Error& e) {
    throw std::logic_error(fmt::format("builder {} made an invalid graph: {}", name, e.what()));
  }
  return g;
}

}  // namespace inferbench::model
