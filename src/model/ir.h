#pragma once
// The model IR: a small framework-neutral graph that describes one network.
// The LibTorch training module is built from it and every exporter reads it,
// so it holds exactly what they need and nothing framework-specific.
//
// Contract:
// - Graph::nodes is in topological order: a node's inputs are earlier nodes
//   or the graph input (kGraphInput). A node's id is its index in `nodes`.
//   The last node is the graph output.
// - Node names are unique. Nodes that own tensors are named by torchvision's
//   module path ("features.0.0", "layer1.0.downsample.0"), and their tensor
//   names are "<node name>.<suffix>", i.e. exactly torchvision's state_dict
//   keys; parameter-free nodes get descriptive names ("layer1.0.add").
//   node.params lists them in state_dict order; they are always those that
//   expected_params() derives from the op and its attributes (validate()
//   checks it), so an importer can map a state_dict by name alone.
// - Layout is NCHW throughout; shapes are std::vector<int64_t>.
// - Invalid graphs (from a file or a builder) are reported by validate() as
//   Error(kInput); impossible input shapes by infer_shapes() as Error(kUsage)
//   naming the node.
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace inferbench::model {

// Bumped whenever the JSON form changes incompatibly; from_json rejects others.
inline constexpr int kIrVersion = 1;
inline constexpr std::string_view kIrFormat = "inferbench-model-ir";

using Shape = std::vector<std::int64_t>;
using NodeId = int;
inline constexpr NodeId kGraphInput = -1;
// (height, width) pair for kernel, stride, padding, dilation.
using Hw = std::array<std::int64_t, 2>;

enum class OpKind {
  kConv2d,          // Conv2dAttrs; weight [out, in/groups, kh, kw], optional bias [out]
  kBatchNorm2d,     // BatchNormAttrs; weight, bias, running_mean, running_var, num_batches_tracked
  kReLU,
  kReLU6,
  kSiLU,            // also known as swish
  kSigmoid,
  kHardSwish,
  kAdd,             // two inputs of the same shape
  kMul,             // two inputs, broadcast (squeeze-excitation scales NxCxHxW by NxCx1x1)
  kMaxPool2d,       // MaxPoolAttrs (floor mode, implicit -inf padding)
  kGlobalAvgPool,   // NxCxHxW -> NxCx1x1 (adaptive average pooling to 1x1)
  kFlatten,         // FlattenAttrs
  kLinear,          // LinearAttrs; weight [out, in], optional bias [out]
  kDropout,         // DropoutAttrs; identity at inference
  kStochasticDepth, // StochasticDepthAttrs; identity at inference
  kSoftmax,         // SoftmaxAttrs
};
std::string_view to_string(OpKind op);
std::optional<OpKind> parse_op_kind(std::string_view s);

struct NoAttrs {
  bool operator==(const NoAttrs&) const = default;
};
struct Conv2dAttrs {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  Hw kernel{1, 1};
  Hw stride{1, 1};
  Hw padding{0, 0};  // zeros, symmetric
  Hw dilation{1, 1};
  std::int64_t groups = 1;  // in_channels == out_channels == groups is a depthwise conv
  bool bias = false;
  bool operator==(const Conv2dAttrs&) const = default;
};
struct BatchNormAttrs {
  std::int64_t num_features = 0;
  double eps = 1e-5;
  double momentum = 0.1;  // PyTorch convention: new = (1 - momentum) * old + momentum * batch
  bool operator==(const BatchNormAttrs&) const = default;
};
struct MaxPoolAttrs {
  Hw kernel{1, 1};
  Hw stride{1, 1};
  Hw padding{0, 0};
  bool operator==(const MaxPoolAttrs&) const = default;
};
struct FlattenAttrs {
  std::int64_t start_dim = 1;  // flattens dims [start_dim, end]
  bool operator==(const FlattenAttrs&) const = default;
};
struct LinearAttrs {
  std::int64_t in_features = 0;
  std::int64_t out_features = 0;
  bool bias = true;
  bool operator==(const LinearAttrs&) const = default;
};
struct DropoutAttrs {
  double p = 0.0;  // probability of zeroing an element during training
  bool operator==(const DropoutAttrs&) const = default;
};
// torchvision.ops.StochasticDepth in "row" mode: during training each sample's
// residual branch is dropped with probability p (and survivors scaled by 1/(1-p)).
struct StochasticDepthAttrs {
  double p = 0.0;
  bool operator==(const StochasticDepthAttrs&) const = default;
};
struct SoftmaxAttrs {
  std::int64_t dim = 1;
  bool operator==(const SoftmaxAttrs&) const = default;
};

using Attrs = std::variant<NoAttrs, Conv2dAttrs, BatchNormAttrs, MaxPoolAttrs, FlattenAttrs, LinearAttrs, DropoutAttrs,
                           StochasticDepthAttrs, SoftmaxAttrs>;

enum class TensorKind {
  kParameter,  // trainable: counted by parameter_count(), like model.parameters()
  kBuffer,     // state but not trained (running statistics, counters)
};
enum class DType { kFloat32, kInt64 };
std::string_view to_string(TensorKind k);
std::string_view to_string(DType d);

struct TensorSpec {
  std::string name;  // full state_dict key
  Shape shape;       // empty for a scalar
  TensorKind kind = TensorKind::kParameter;
  DType dtype = DType::kFloat32;
  [[nodiscard]] std::int64_t numel() const;
  bool operator==(const TensorSpec&) const = default;
};

struct Node {
  NodeId id = 0;
  std::string name;
  OpKind op = OpKind::kReLU;
  std::vector<NodeId> inputs;
  Attrs attrs;
  std::vector<TensorSpec> params;

  // Typed attribute access; throws std::logic_error when the op has other attributes.
  [[nodiscard]] const Conv2dAttrs& conv() const;
  [[nodiscard]] const BatchNormAttrs& batch_norm() const;
  [[nodiscard]] const MaxPoolAttrs& max_pool() const;
  [[nodiscard]] const FlattenAttrs& flatten() const;
  [[nodiscard]] const LinearAttrs& linear() const;
  [[nodiscard]] const DropoutAttrs& dropout() const;
  [[nodiscard]] const StochasticDepthAttrs& stochastic_depth() const;
  [[nodiscard]] const SoftmaxAttrs& softmax() const;
  bool operator==(const Node&) const = default;
};

struct Graph {
  std::string architecture;  // builder name ("mobilenet_v2", ...) or free text
  std::int64_t num_classes = 0;
  std::string input_name = "input";
  std::int64_t input_channels = 3;
  std::vector<Node> nodes;

  // Appends a node, filling id and params (from expected_params). Inputs must
  // be earlier ids or kGraphInput; a builder error is a programmer error, so
  // this throws std::logic_error for a bad input id or a duplicate name.
  NodeId add(std::string name, OpKind op, std::vector<NodeId> inputs, Attrs attrs = NoAttrs{});

  [[nodiscard]] const Node& output() const;  // the last node; std::logic_error when empty
  [[nodiscard]] const Node* find(std::string_view name) const;  // nullptr when absent
  // Trainable parameter count (sum of numel over kParameter tensors), as torchvision's
  // sum(p.numel() for p in model.parameters()).
  [[nodiscard]] std::int64_t parameter_count() const;
  [[nodiscard]] std::int64_t buffer_count() const;  // elements in buffers
  // Every tensor of every node, in node order (= torchvision's state_dict order for our builders).
  [[nodiscard]] std::vector<TensorSpec> state_dict_specs() const;
  bool operator==(const Graph&) const = default;
};

// The tensors a node of this op/attributes/name owns, in state_dict order.
std::vector<TensorSpec> expected_params(std::string_view node_name, OpKind op, const Attrs& attrs);

// Structural checks: ids match positions, unique non-empty names, inputs are
// earlier nodes, input counts per op, attributes of the op's type and in range,
// params equal expected_params. Throws Error(kInput) naming the node.
void validate(const Graph& graph);

// Output shape of every node (index = node id) for an input of shape
// (N, C, H, W). The graph must be valid (builders' and from_json's graphs are).
// Throws Error(kUsage) naming the node when the input does not fit: wrong
// rank, C != input_channels, a channel/feature mismatch, or a spatial size that
// would fall below 1 (the message gives the smallest square input the graph
// accepts, when there is one).
std::vector<Shape> infer_shapes(const Graph& graph, const Shape& input);

// Smallest s such that an s x s image passes infer_shapes (searched up to
// `limit`), or nullopt. Most architectures with padded convolutions accept 1.
std::optional<std::int64_t> min_input_size(const Graph& graph, std::int64_t limit = 4096);

// Analysis for one image (N = 1) of height x width.
//
// MAC convention (the one torchvision's model tables and fvcore use for their
// GFLOPS column): a multiply-accumulate is counted only in convolutions and
// linear layers, bias additions excluded:
//   conv   = Cout * Hout * Wout * (Cin / groups) * kh * kw
//   linear = in_features * out_features
// Batch norm, activations, add/mul, pooling, dropout and softmax count 0 MACs
// (at inference batch norm folds into the preceding conv; the others are
// memory-bound elementwise work, reported apart as `elementwise_ops`: one per
// output element for bn, activations, add, mul; one per input element for pooling).
struct NodeStats {
  Shape output;
  std::int64_t params = 0;   // trainable elements
  std::int64_t buffers = 0;  // buffer elements
  std::int64_t macs = 0;
  std::int64_t elementwise_ops = 0;
};
struct GraphStats {
  Shape input;
  std::vector<NodeStats> nodes;  // index = node id
  std::int64_t params = 0;
  std::int64_t buffers = 0;
  std::int64_t macs = 0;
  std::int64_t elementwise_ops = 0;
};
GraphStats analyse(const Graph& graph, std::int64_t height, std::int64_t width);

// A fixed-format table (name, op, output shape, params, MACs; one line per node)
// followed by totals, for `model info`. Deterministic: same graph and size, same text.
std::string summary(const Graph& graph, std::int64_t height, std::int64_t width);

// JSON form: {"format": "inferbench-model-ir", "version": 1, "architecture", "num_classes",
// "input": {"name", "channels"}, "nodes": [{"name", "op", "inputs": [names], "attrs": {...},
// "params": [{"name", "shape", "kind", "dtype"}]}]}. Inputs are written by name.
// from_json throws Error(kInput) with the path of the offending field for
// malformed JSON, an unknown version, and any failure of validate().
void to_json(nlohmann::json& j, const Graph& graph);
void from_json(const nlohmann::json& j, Graph& graph);

// "1x3x224x224"; "scalar" for an empty shape.
std::string shape_to_string(const Shape& shape);

}  // namespace inferbench::model
