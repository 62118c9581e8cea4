#include "model/ir.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <utility>

#include "common/error.h"

namespace inferbench::model {
namespace {

struct OpName {
  OpKind op;
  std::string_view name;
};
// The names are part of the JSON form: never rename one, only add.
constexpr std::array<OpName, 16> kOpNames{{
    {OpKind::kConv2d, "conv2d"},
    {OpKind::kBatchNorm2d, "batch_norm2d"},
    {OpKind::kReLU, "relu"},
    {OpKind::kReLU6, "relu6"},
    {OpKind::kSiLU, "silu"},
    {OpKind::kSigmoid, "sigmoid"},
    {OpKind::kHardSwish, "hardswish"},
    {OpKind::kAdd, "add"},
    {OpKind::kMul, "mul"},
    {OpKind::kMaxPool2d, "max_pool2d"},
    {OpKind::kGlobalAvgPool, "global_avg_pool"},
    {OpKind::kFlatten, "flatten"},
    {OpKind::kLinear, "linear"},
    {OpKind::kDropout, "dropout"},
    {OpKind::kStochasticDepth, "stochastic_depth"},
    {OpKind::kSoftmax, "softmax"},
}};

// Which Attrs alternative each op carries.
bool attrs_fit(OpKind op, const Attrs& attrs) {
  switch (op) {
    case OpKind::kConv2d: return std::holds_alternative<Conv2dAttrs>(attrs);
    case OpKind::kBatchNorm2d: return std::holds_alternative<BatchNormAttrs>(attrs);
    case OpKind::kMaxPool2d: return std::holds_alternative<MaxPoolAttrs>(attrs);
    case OpKind::kFlatten: return std::holds_alternative<FlattenAttrs>(attrs);
    case OpKind::kLinear: return std::holds_alternative<LinearAttrs>(attrs);
    case OpKind::kDropout: return std::holds_alternative<DropoutAttrs>(attrs);
    case OpKind::kStochasticDepth: return std::holds_alternative<StochasticDepthAttrs>(attrs);
    case OpKind::kSoftmax: return std::holds_alternative<SoftmaxAttrs>(attrs);
    case OpKind::kReLU:
    case OpKind::kReLU6:
    case OpKind::kSiLU:
    case OpKind::kSigmoid:
    case OpKind::kHardSwish:
    case OpKind::kAdd:
    case OpKind::kMul:
    case OpKind::kGlobalAvgPool: return std::holds_alternative<NoAttrs>(attrs);
  }
  return false;
}

std::size_t input_count(OpKind op) { return op == OpKind::kAdd || op == OpKind::kMul ? 2 : 1; }

template <typename T>
const T& get_attrs(const Node& node) {
  if (const T* a = std::get_if<T>(&node.attrs)) return *a;
  throw std::logic_error(fmt::format("model IR: node '{}' ({}) has no such attributes", node.name, to_string(node.op)));
}

TensorSpec param(std::string_view node, std::string_view suffix, Shape shape) {
  return {fmt::format("{}.{}", node, suffix), std::move(shape), TensorKind::kParameter, DType::kFloat32};
}
TensorSpec buffer(std::string_view node, std::string_view suffix, Shape shape, DType dtype = DType::kFloat32) {
  return {fmt::format("{}.{}", node, suffix), std::move(shape), TensorKind::kBuffer, dtype};
}

std::string describe(const Node& node) {
  return fmt::format("node {} '{}' ({})", node.id, node.name, to_string(node.op));
}

[[noreturn]] void invalid(const Node& node, const std::string& what) {
  fail(ExitCode::kInput, fmt::format("invalid model IR: {}: {}", describe(node), what));
}

bool positive(const Hw& v) { return v[0] >= 1 && v[1] >= 1; }
bool non_negative(const Hw& v) { return v[0] >= 0 && v[1] >= 0; }
bool probability(double p) { return p >= 0.0 && p <= 1.0; }

void validate_attrs(const Node& node) {
  switch (node.op) {
    case OpKind::kConv2d: {
      const auto& a = node.conv();
      if (a.in_channels < 1 || a.out_channels < 1 || a.groups < 1) invalid(node, "channels and groups must be >= 1");
      if (a.in_channels % a.groups != 0 || a.out_channels % a.groups != 0)
        invalid(node, fmt::format("groups {} must divide in_channels {} and out_channels {}", a.groups,
                                  a.in_channels, a.out_channels));
      if (!positive(a.kernel) || !positive(a.stride) || !positive(a.dilation) || !non_negative(a.padding))
        invalid(node, "kernel, stride and dilation must be >= 1 and padding >= 0");
      break;
    }
    case OpKind::kBatchNorm2d: {
      const auto& a = node.batch_norm();
      if (a.num_features < 1) invalid(node, "num_features must be >= 1");
      if (!(a.eps > 0.0)) invalid(node, "eps must be > 0");
      if (!probability(a.momentum)) invalid(node, "momentum must be in [0, 1]");
      break;
    }
    case OpKind::kMaxPool2d: {
      const auto& a = node.max_pool();
      if (!positive(a.kernel) || !positive(a.stride) || !non_negative(a.padding))
        invalid(node, "kernel and stride must be >= 1 and padding >= 0");
      // PyTorch's own limit: a window made only of padding would have no maximum.
      if (a.padding[0] * 2 > a.kernel[0] || a.padding[1] * 2 > a.kernel[1])
        invalid(node, "padding must be at most half the kernel");
      break;
    }
    case OpKind::kFlatten:
      if (node.flatten().start_dim < 0) invalid(node, "start_dim must be >= 0");
      break;
    case OpKind::kLinear:
      if (node.linear().in_features < 1 || node.linear().out_features < 1) invalid(node, "features must be >= 1");
      break;
    case OpKind::kDropout:
      if (!probability(node.dropout().p)) invalid(node, "p must be in [0, 1]");
      break;
    case OpKind::kStochasticDepth:
      if (!probability(node.stochastic_depth().p)) invalid(node, "p must be in [0, 1]");
      break;
    default: break;
  }
}

// Result of shape inference without throwing, so min_input_size can probe sizes.
struct Inferred {
  std::vector<Shape> shapes;
  std::string error;        // empty on success
  bool too_small = false;   // the error is a spatial size below 1
};

// Output extent of a window op along one axis; < 1 means the input is too small.
std::int64_t window_out(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                        std::int64_t dilation) {
  const std::int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  // Floor division: C++ '/' truncates toward zero, which would turn a negative span into a size of 1.
  if (span < 0) return 0;
  return span / stride + 1;
}

Inferred infer(const Graph& graph, const Shape& input) {
  Inferred r;
  auto error = [&](const Node* node, std::string what, bool too_small = false) {
    r.error = node ? fmt::format("{}: {}", describe(*node), what) : std::move(what);
    r.too_small = too_small;
    return r;
  };
  if (input.size() != 4)
    return error(nullptr, fmt::format("the input must be N x C x H x W, got {}", shape_to_string(input)));
  if (input[0] < 1 || input[2] < 1 || input[3] < 1)
    return error(nullptr, fmt::format("input {} has an empty dimension", shape_to_string(input)), input[0] >= 1);
  if (input[1] != graph.input_channels)
    return error(nullptr, fmt::format("{} expects {} input channels, got {}", graph.architecture, graph.input_channels,
                                      input[1]));

  r.shapes.reserve(graph.nodes.size());
  for (const Node& node : graph.nodes) {
    std::vector<const Shape*> in;
    for (NodeId id : node.inputs) in.push_back(id == kGraphInput ? &input : &r.shapes.at(static_cast<std::size_t>(id)));
    const Shape& x = *in.at(0);
    auto input_name = [&](std::size_t i) {
      return node.inputs[i] == kGraphInput ? graph.input_name
                                           : graph.nodes[static_cast<std::size_t>(node.inputs[i])].name;
    };
    auto need_rank = [&](std::size_t rank) { return x.size() == rank; };
    Shape out;
    switch (node.op) {
      case OpKind::kConv2d: {
        const auto& a = node.conv();
        if (!need_rank(4)) return error(&node, fmt::format("needs a 4-d input, got {}", shape_to_string(x)));
        if (x[1] != a.in_channels)
          return error(&node, fmt::format("expects {} input channels but its input '{}' has {}", a.in_channels,
                                          input_name(0), x[1]));
        const std::int64_t h = window_out(x[2], a.kernel[0], a.stride[0], a.padding[0], a.dilation[0]);
        const std::int64_t w = window_out(x[3], a.kernel[1], a.stride[1], a.padding[1], a.dilation[1]);
        if (h < 1 || w < 1)
          return error(&node,
                       fmt::format("input {} is too small for a {}x{} kernel with padding {}", shape_to_string(x),
                                   a.kernel[0], a.kernel[1], a.padding[0]),
                       true);
        out = {x[0], a.out_channels, h, w};
        break;
      }
      case OpKind::kMaxPool2d: {
        const auto& a = node.max_pool();
        if (!need_rank(4)) return error(&node, fmt::format("needs a 4-d input, got {}", shape_to_string(x)));
        const std::int64_t h = window_out(x[2], a.kernel[0], a.stride[0], a.padding[0], 1);
        const std::int64_t w = window_out(x[3], a.kernel[1], a.stride[1], a.padding[1], 1);
        if (h < 1 || w < 1)
          return error(&node, fmt::format("input {} is too small for a {}x{} window", shape_to_string(x), a.kernel[0],
                                          a.kernel[1]), true);
        out = {x[0], x[1], h, w};
        break;
      }
      case OpKind::kBatchNorm2d:
        if (!need_rank(4)) return error(&node, fmt::format("needs a 4-d input, got {}", shape_to_string(x)));
        if (x[1] != node.batch_norm().num_features)
          return error(&node, fmt::format("expects {} channels but its input '{}' has {}",
                                          node.batch_norm().num_features, input_name(0), x[1]));
        out = x;
        break;
      case OpKind::kAdd:
        if (*in[0] != *in[1])
          return error(&node, fmt::format("inputs '{}' {} and '{}' {} differ in shape", input_name(0),
                                          shape_to_string(*in[0]), input_name(1), shape_to_string(*in[1])));
        out = x;
        break;
      case OpKind::kMul: {
        const Shape& y = *in[1];
        bool ok = x.size() == y.size();
        for (std::size_t i = 0; ok && i < x.size(); ++i) {
          ok = x[i] == y[i] || x[i] == 1 || y[i] == 1;
          out.push_back(std::max(x[i], y[i]));
        }
        if (!ok)
          return error(&node, fmt::format("inputs '{}' {} and '{}' {} do not broadcast", input_name(0),
                                          shape_to_string(x), input_name(1), shape_to_string(y)));
        break;
      }
      case OpKind::kGlobalAvgPool:
        if (!need_rank(4)) return error(&node, fmt::format("needs a 4-d input, got {}", shape_to_string(x)));
        out = {x[0], x[1], 1, 1};
        break;
      case OpKind::kFlatten: {
        const auto start = static_cast<std::size_t>(node.flatten().start_dim);
        if (start >= x.size())
          return error(&node, fmt::format("start_dim {} is beyond input {}", start, shape_to_string(x)));
        out.assign(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(start));
        std::int64_t rest = 1;
        for (std::size_t i = start; i < x.size(); ++i) rest *= x[i];
        out.push_back(rest);
        break;
      }
      case OpKind::kLinear:
        if (x.size() < 2 || x.back() != node.linear().in_features)
          return error(&node, fmt::format("expects {} input features but its input '{}' is {}",
                                          node.linear().in_features, input_name(0), shape_to_string(x)));
        out = x;
        out.back() = node.linear().out_features;
        break;
      case OpKind::kSoftmax: {
        const std::int64_t dim = node.softmax().dim;
        const auto rank = static_cast<std::int64_t>(x.size());
        if (dim < -rank || dim >= rank)
          return error(&node, fmt::format("dim {} is out of range for {}", dim, shape_to_string(x)));
        out = x;
        break;
      }
      case OpKind::kReLU:
      case OpKind::kReLU6:
      case OpKind::kSiLU:
      case OpKind::kSigmoid:
      case OpKind::kHardSwish:
      case OpKind::kDropout:
      case OpKind::kStochasticDepth: out = x; break;
    }
    r.shapes.push_back(std::move(out));
  }
  return r;
}

std::int64_t numel(const Shape& s) {
  std::int64_t n = 1;
  for (std::int64_t d : s) n *= d;
  return n;
}

// 1234567 -> "1,234,567": the summary is read by people comparing counts.
std::string grouped(std::int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  if (v < 0) out.insert(out.begin(), '-');
  return out;
}

}  // namespace

std::string_view to_string(OpKind op) {
  for (const auto& [kind, name] : kOpNames)
    if (kind == op) return name;
  return "unknown";
}

std::optional<OpKind> parse_op_kind(std::string_view s) {
  for (const auto& [kind, name] : kOpNames)
    if (name == s) return kind;
  return std::nullopt;
}

std::string_view to_string(TensorKind k) { return k == TensorKind::kParameter ? "parameter" : "buffer"; }
std::string_view to_string(DType d) { return d == DType::kFloat32 ? "float32" : "int64"; }

std::int64_t TensorSpec::numel() const { return model::numel(shape); }

const Conv2dAttrs& Node::conv() const { return get_attrs<Conv2dAttrs>(*this); }
const BatchNormAttrs& Node::batch_norm() const { return get_attrs<BatchNormAttrs>(*this); }
const MaxPoolAttrs& Node::max_pool() const { return get_attrs<MaxPoolAttrs>(*this); }
const FlattenAttrs& Node::flatten() const { return get_attrs<FlattenAttrs>(*this); }
const LinearAttrs& Node::linear() const { return get_attrs<LinearAttrs>(*this); }
const DropoutAttrs& Node::dropout() const { return get_attrs<DropoutAttrs>(*this); }
const StochasticDepthAttrs& Node::stochastic_depth() const { return get_attrs<StochasticDepthAttrs>(*this); }
const SoftmaxAttrs& Node::softmax() const { return get_attrs<SoftmaxAttrs>(*this); }

std::vector<TensorSpec> expected_params(std::string_view node_name, OpKind op, const Attrs& attrs) {
  std::vector<TensorSpec> out;
  if (const auto* c = std::get_if<Conv2dAttrs>(&attrs); c && op == OpKind::kConv2d) {
    out.push_back(param(node_name, "weight", {c->out_channels, c->in_channels / std::max<std::int64_t>(c->groups, 1),
                                               c->kernel[0], c->kernel[1]}));
    if (c->bias) out.push_back(param(node_name, "bias", {c->out_channels}));
  } else if (const auto* b = std::get_if<BatchNormAttrs>(&attrs); b && op == OpKind::kBatchNorm2d) {
    out.push_back(param(node_name, "weight", {b->num_features}));
    out.push_back(param(node_name, "bias", {b->num_features}));
    out.push_back(buffer(node_name, "running_mean", {b->num_features}));
    out.push_back(buffer(node_name, "running_var", {b->num_features}));
    out.push_back(buffer(node_name, "num_batches_tracked", {}, DType::kInt64));
  } else if (const auto* l = std::get_if<LinearAttrs>(&attrs); l && op == OpKind::kLinear) {
    out.push_back(param(node_name, "weight", {l->out_features, l->in_features}));
    if (l->bias) out.push_back(param(node_name, "bias", {l->out_features}));
  }
  return out;
}

NodeId Graph::add(std::string name, OpKind op, std::vector<NodeId> inputs, Attrs attrs) {
  const auto id = static_cast<NodeId>(nodes.size());
  if (find(name) != nullptr) throw std::logic_error("model IR: duplicate node name " + name);
  for (NodeId in : inputs)
    if (in != kGraphInput && (in < 0 || in >= id))
      throw std::logic_error(fmt::format("model IR: node '{}' has input {} which is not an earlier node", name, in));
  Node node{id, std::move(name), op, std::move(inputs), std::move(attrs), {}};
  node.params = expected_params(node.name, node.op, node.attrs);
  nodes.push_back(std::move(node));
  return id;
}

const Node& Graph::output() const {
  if (nodes.empty()) throw std::logic_error("model IR: empty graph has no output");
  return nodes.back();
}

const Node* Graph::find(std::string_view name) const {
  for (const Node& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

namespace {
std::int64_t count_elements(const std::vector<Node>& nodes, TensorKind kind) {
  std::int64_t total = 0;
  for (const Node& n : nodes)
    for (const TensorSpec& t : n.params)
      if (t.kind == kind) total += t.numel();
  return total;
}
}  // namespace

std::int64_t Graph::parameter_count() const { return count_elements(nodes, TensorKind::kParameter); }

std::int64_t Graph::buffer_count() const { return count_elements(nodes, TensorKind::kBuffer); }

std::vector<TensorSpec> Graph::state_dict_specs() const {
  std::vector<TensorSpec> out;
  for (const Node& n : nodes) out.insert(out.end(), n.params.begin(), n.params.end());
  return out;
}

void validate(const Graph& graph) {
  if (graph.nodes.empty()) fail(ExitCode::kInput, "invalid model IR: the graph has no nodes");
  if (graph.input_channels < 1) fail(ExitCode::kInput, "invalid model IR: input channels must be >= 1");
  if (graph.input_name.empty()) fail(ExitCode::kInput, "invalid model IR: the graph input has no name");
  std::set<std::string_view> names{graph.input_name};
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    if (node.id != static_cast<NodeId>(i)) invalid(node, fmt::format("id must equal its position {}", i));
    if (node.name.empty()) invalid(node, "empty name");
    if (!names.insert(node.name).second) invalid(node, "duplicate name (or the graph input's name)");
    if (to_string(node.op) == "unknown") invalid(node, "unknown op");
    if (node.inputs.size() != input_count(node.op))
      invalid(node, fmt::format("takes {} input(s), has {}", input_count(node.op), node.inputs.size()));
    for (NodeId in : node.inputs)
      if (in != kGraphInput && (in < 0 || in >= node.id))
        invalid(node, fmt::format("input {} is not an earlier node", in));
    if (!attrs_fit(node.op, node.attrs)) invalid(node, "attributes do not belong to this op");
    validate_attrs(node);
    if (node.params != expected_params(node.name, node.op, node.attrs))
      invalid(node, "its tensors do not match its op and attributes (names, shapes, kinds or dtypes)");
  }
}

std::vector<Shape> infer_shapes(const Graph& graph, const Shape& input) {
  Inferred r = infer(graph, input);
  if (r.error.empty()) return std::move(r.shapes);
  if (r.too_small) {
    if (auto min = min_input_size(graph))
      r.error += fmt::format("; the smallest input {} accepts is {}x{}", graph.architecture, *min, *min);
  }
  fail(ExitCode::kUsage, r.error);
}

std::optional<std::int64_t> min_input_size(const Graph& graph, std::int64_t limit) {
  // Output sizes grow monotonically with the input, so the first size that fits is the smallest.
  for (std::int64_t s = 1; s <= limit; ++s)
    if (infer(graph, {1, graph.input_channels, s, s}).error.empty()) return s;
  return std::nullopt;
}

GraphStats analyse(const Graph& graph, std::int64_t height, std::int64_t width) {
  GraphStats stats;
  stats.input = {1, graph.input_channels, height, width};
  const std::vector<Shape> shapes = infer_shapes(graph, stats.input);
  for (const Node& node : graph.nodes) {
    NodeStats s;
    s.output = shapes[static_cast<std::size_t>(node.id)];
    const Shape& in = node.inputs[0] == kGraphInput ? stats.input : shapes[static_cast<std::size_t>(node.inputs[0])];
    for (const TensorSpec& t : node.params) (t.kind == TensorKind::kParameter ? s.params : s.buffers) += t.numel();
    switch (node.op) {
      case OpKind::kConv2d: {
        const auto& a = node.conv();
        s.macs = numel(s.output) * (a.in_channels / a.groups) * a.kernel[0] * a.kernel[1];
        break;
      }
      case OpKind::kLinear: s.macs = numel(s.output) * node.linear().in_features; break;
      case OpKind::kBatchNorm2d:
      case OpKind::kReLU:
      case OpKind::kReLU6:
      case OpKind::kSiLU:
      case OpKind::kSigmoid:
      case OpKind::kHardSwish:
      case OpKind::kAdd:
      case OpKind::kMul:
      case OpKind::kSoftmax: s.elementwise_ops = numel(s.output); break;
      case OpKind::kMaxPool2d:
      case OpKind::kGlobalAvgPool: s.elementwise_ops = numel(in); break;
      case OpKind::kFlatten:
      case OpKind::kDropout:
      case OpKind::kStochasticDepth: break;
    }
    stats.params += s.params;
    stats.buffers += s.buffers;
    stats.macs += s.macs;
    stats.elementwise_ops += s.elementwise_ops;
    stats.nodes.push_back(std::move(s));
  }
  return stats;
}

std::string summary(const Graph& graph, std::int64_t height, std::int64_t width) {
  const GraphStats stats = analyse(graph, height, width);
  std::size_t name_width = 4;
  for (const Node& n : graph.nodes) name_width = std::max(name_width, n.name.size());
  std::string out = fmt::format("model {} ({} classes), input {}\n", graph.architecture, graph.num_classes,
                                shape_to_string(stats.input));
  out += fmt::format("{:<{}}  {:<16}  {:<16}  {:>12}  {:>14}\n", "name", name_width, "op", "output", "params", "MACs");
  for (const Node& n : graph.nodes) {
    const NodeStats& s = stats.nodes[static_cast<std::size_t>(n.id)];
    out += fmt::format("{:<{}}  {:<16}  {:<16}  {:>12}  {:>14}\n", n.name, name_width, to_string(n.op),
                       shape_to_string(s.output), grouped(s.params), grouped(s.macs));
  }
  out += fmt::format("total: {} parameters ({} buffer values), {} MACs ({:.2f} G), {} nodes\n", grouped(stats.params),
                     grouped(stats.buffers), grouped(stats.macs), static_cast<double>(stats.macs) / 1e9,
                     graph.nodes.size());
  return out;
}

std::string shape_to_string(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string out;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out.push_back('x');
    out.append(std::to_string(shape[i]));
  }
  return out;
}

}  // namespace inferbench::model
