#include "export/inference_model.h"

#include <fmt/format.h>

#include <cmath>

#include "common/error.h"

namespace inferbench::exporters {

namespace {

using model::Graph;
using model::Node;
using model::NodeId;
using model::OpKind;

const Weight& need(const Weights& weights, const std::string& name, const model::Shape& shape) {
  const auto it = weights.find(name);
  if (it == weights.end()) fail(ExitCode::kInput, fmt::format("model weights: tensor '{}' is missing", name));
  if (it->second.shape != shape) {
    fail(ExitCode::kInput, fmt::format("model weights: tensor '{}' has shape {}, the graph expects {}", name,
                                       model::shape_to_string(it->second.shape), model::shape_to_string(shape)));
  }
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  if (static_cast<std::int64_t>(it->second.values.size()) != n) {
    fail(ExitCode::kInput, fmt::format("model weights: tensor '{}' holds {} values, its shape {} needs {}", name,
                                       it->second.values.size(), model::shape_to_string(shape), n));
  }
  for (float v : it->second.values)
    if (!std::isfinite(v)) fail(ExitCode::kInput, fmt::format("model weights: tensor '{}' has a non-finite value", name));
  return it->second;
}

bool is_identity(OpKind op) { return op == OpKind::kDropout || op == OpKind::kStochasticDepth; }

}  // namespace

InferenceModel make_inference_model(const Graph& graph, const Weights& weights, bool fold_batch_norm) {
  model::validate(graph);
  InferenceModel out;
  out.graph.architecture = graph.architecture;
  out.graph.num_classes = graph.num_classes;
  out.graph.input_name = graph.input_name;
  out.graph.input_channels = graph.input_channels;

  // How many nodes read each node's output (the graph output counts as a reader).
  std::vector<int> readers(graph.nodes.size(), 0);
  for (const Node& n : graph.nodes)
    for (NodeId in : n.inputs)
      if (in != model::kGraphInput) ++readers[static_cast<std::size_t>(in)];
  readers.back() += 1;

  // old id -> new id (or the new id of the node that stands for it).
  std::vector<NodeId> remap(graph.nodes.size(), model::kGraphInput);
  auto mapped = [&](NodeId in) { return in == model::kGraphInput ? in : remap[static_cast<std::size_t>(in)]; };

  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    const bool last = i + 1 == graph.nodes.size();
    std::vector<NodeId> inputs;
    for (NodeId in : n.inputs) inputs.push_back(mapped(in));

    if (is_identity(n.op) && !last) {
      remap[i] = inputs.at(0);
      ++out.removed_nodes;
      continue;
    }
    if (fold_batch_norm && n.op == OpKind::kConv2d && !last && readers[i] == 1) {
      const Node& next = graph.nodes[i + 1];
      // Builders put a conv's batch norm right after it; a batch norm elsewhere
      // is left unfolded (still correct, just not fused).
      if (next.op == OpKind::kBatchNorm2d && next.inputs.size() == 1 && next.inputs[0] == n.id) {
        const model::Conv2dAttrs& c = n.conv();
        const model::BatchNormAttrs& bn = next.batch_norm();
        const Weight& w = need(weights, n.params[0].name, n.params[0].shape);
        const Weight& gamma = need(weights, next.params[0].name, next.params[0].shape);
        const Weight& beta = need(weights, next.params[1].name, next.params[1].shape);
        const Weight& mean = need(weights, next.params[2].name, next.params[2].shape);
        const Weight& var = need(weights, next.params[3].name, next.params[3].shape);
        const Weight* b = c.bias ? &need(weights, n.params[1].name, n.params[1].shape) : nullptr;

        model::Conv2dAttrs fused = c;
        fused.bias = true;
        const NodeId id = out.graph.add(n.name, OpKind::kConv2d, inputs, fused);
        const auto& specs = out.graph.nodes.back().params;
        const std::size_t per_out = w.values.size() / static_cast<std::size_t>(c.out_channels);
        Weight fw{specs[0].shape, std::vector<float>(w.values.size())};
        Weight fb{specs[1].shape, std::vector<float>(static_cast<std::size_t>(c.out_channels))};
        for (std::size_t o = 0; o < static_cast<std::size_t>(c.out_channels); ++o) {
          const double s = static_cast<double>(gamma.values[o]) / std::sqrt(static_cast<double>(var.values[o]) + bn.eps);
          for (std::size_t k = 0; k < per_out; ++k)
            fw.values[o * per_out + k] = static_cast<float>(w.values[o * per_out + k] * s);
          const double bias = b != nullptr ? b->values[o] : 0.0;
          fb.values[o] = static_cast<float>((bias - mean.values[o]) * s + beta.values[o]);
        }
        out.weights[specs[0].name] = std::move(fw);
        out.weights[specs[1].name] = std::move(fb);
        remap[i] = id;
        remap[i + 1] = id;
        ++i;  // the batch norm is consumed
        ++out.folded_batch_norms;
        continue;
      }
    }
    const NodeId id = out.graph.add(n.name, n.op, inputs, n.attrs);
    remap[i] = id;
    for (const model::TensorSpec& t : out.graph.nodes.back().params) {
      if (t.kind == model::TensorKind::kBuffer && t.dtype != model::DType::kFloat32) continue;  // counters
      out.weights[t.name] = need(weights, t.name, t.shape);
    }
  }
  model::validate(out.graph);
  return out;
}

}  // namespace inferbench::exporters
