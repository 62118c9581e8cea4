// JSON form of the model IR (see ir.h). Reading is strict: a checkpoint whose
// IR is damaged must fail with the path of the bad field, not build a model
// that silently differs from the one that was trained.
#include <fmt/format.h>

#include <map>

#include "common/error.h"
#include "model/ir.h"

namespace inferbench::model {
namespace {

using nlohmann::json;

[[noreturn]] void malformed(const std::string& path, const std::string& what) {
  fail(ExitCode::kInput, fmt::format("malformed model IR at {}: {}", path, what));
}

const json& field(const json& j, const std::string& path, const char* key) {
  if (!j.is_object()) malformed(path, "expected an object");
  auto it = j.find(key);
  if (it == j.end()) malformed(path, fmt::format("missing field \"{}\"", key));
  return *it;
}

std::string path_of(const std::string& path, const char* key) { return fmt::format("{}.{}", path, key); }

std::int64_t get_int(const json& j, const std::string& path, const char* key) {
  const json& v = field(j, path, key);
  if (!v.is_number_integer()) malformed(path_of(path, key), "expected an integer");
  return v.get<std::int64_t>();
}

double get_double(const json& j, const std::string& path, const char* key) {
  const json& v = field(j, path, key);
  if (!v.is_number()) malformed(path_of(path, key), "expected a number");
  return v.get<double>();
}

bool get_bool(const json& j, const std::string& path, const char* key) {
  const json& v = field(j, path, key);
  if (!v.is_boolean()) malformed(path_of(path, key), "expected true or false");
  return v.get<bool>();
}

std::string get_string(const json& j, const std::string& path, const char* key) {
  const json& v = field(j, path, key);
  if (!v.is_string()) malformed(path_of(path, key), "expected a string");
  return v.get<std::string>();
}

const json& get_array(const json& j, const std::string& path, const char* key) {
  const json& v = field(j, path, key);
  if (!v.is_array()) malformed(path_of(path, key), "expected an array");
  return v;
}

Shape get_shape(const json& j, const std::string& path, const char* key) {
  const json& v = get_array(j, path, key);
  Shape shape;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number_integer() || v[i].get<std::int64_t>() < 0)
      malformed(fmt::format("{}.{}[{}]", path, key, i), "expected a non-negative integer");
    shape.push_back(v[i].get<std::int64_t>());
  }
  return shape;
}

Hw get_hw(const json& j, const std::string& path, const char* key) {
  Shape s = get_shape(j, path, key);
  if (s.size() != 2) malformed(path_of(path, key), "expected [height, width]");
  return {s[0], s[1]};
}

json attrs_to_json(const Attrs& attrs) {
  return std::visit(
      [](const auto& a) -> json {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, Conv2dAttrs>) {
          return {{"in_channels", a.in_channels}, {"out_channels", a.out_channels}, {"kernel", a.kernel},
                  {"stride", a.stride},           {"padding", a.padding},           {"dilation", a.dilation},
                  {"groups", a.groups},           {"bias", a.bias}};
        } else if constexpr (std::is_same_v<T, BatchNormAttrs>) {
          return {{"num_features", a.num_features}, {"eps", a.eps}, {"momentum", a.momentum}};
        } else if constexpr (std::is_same_v<T, MaxPoolAttrs>) {
          return {{"kernel", a.kernel}, {"stride", a.stride}, {"padding", a.padding}};
        } else if constexpr (std::is_same_v<T, FlattenAttrs>) {
          return {{"start_dim", a.start_dim}};
        } else if constexpr (std::is_same_v<T, LinearAttrs>) {
          return {{"in_features", a.in_features}, {"out_features", a.out_features}, {"bias", a.bias}};
        } else if constexpr (std::is_same_v<T, DropoutAttrs> || std::is_same_v<T, StochasticDepthAttrs>) {
          return {{"p", a.p}};
        } else if constexpr (std::is_same_v<T, SoftmaxAttrs>) {
          return {{"dim", a.dim}};
        } else {
          return json::object();
        }
      },
      attrs);
}

Attrs attrs_from_json(OpKind op, const json& j, const std::string& path) {
  if (!j.is_object()) malformed(path, "expected an object");
  switch (op) {
    case OpKind::kConv2d:
      return Conv2dAttrs{get_int(j, path, "in_channels"), get_int(j, path, "out_channels"),
                         get_hw(j, path, "kernel"),       get_hw(j, path, "stride"),
                         get_hw(j, path, "padding"),      get_hw(j, path, "dilation"),
                         get_int(j, path, "groups"),      get_bool(j, path, "bias")};
    case OpKind::kBatchNorm2d:
      return BatchNormAttrs{get_int(j, path, "num_features"), get_double(j, path, "eps"),
                            get_double(j, path, "momentum")};
    case OpKind::kMaxPool2d:
      return MaxPoolAttrs{get_hw(j, path, "kernel"), get_hw(j, path, "stride"), get_hw(j, path, "padding")};
    case OpKind::kFlatten: return FlattenAttrs{get_int(j, path, "start_dim")};
    case OpKind::kLinear:
      return LinearAttrs{get_int(j, path, "in_features"), get_int(j, path, "out_features"), get_bool(j, path, "bias")};
    case OpKind::kDropout: return DropoutAttrs{get_double(j, path, "p")};
    case OpKind::kStochasticDepth: return StochasticDepthAttrs{get_double(j, path, "p")};
    case OpKind::kSoftmax: return SoftmaxAttrs{get_int(j, path, "dim")};
    default: return NoAttrs{};
  }
}

TensorSpec tensor_from_json(const json& j, const std::string& path) {
  TensorSpec t;
  t.name = get_string(j, path, "name");
  t.shape = get_shape(j, path, "shape");
  const std::string kind = get_string(j, path, "kind");
  if (kind == to_string(TensorKind::kParameter)) {
    t.kind = TensorKind::kParameter;
  } else if (kind == to_string(TensorKind::kBuffer)) {
    t.kind = TensorKind::kBuffer;
  } else {
    malformed(path_of(path, "kind"), fmt::format("unknown tensor kind \"{}\" (parameter or buffer)", kind));
  }
  const std::string dtype = get_string(j, path, "dtype");
  if (dtype == to_string(DType::kFloat32)) {
    t.dtype = DType::kFloat32;
  } else if (dtype == to_string(DType::kInt64)) {
    t.dtype = DType::kInt64;
  } else {
    malformed(path_of(path, "dtype"), fmt::format("unknown dtype \"{}\" (float32 or int64)", dtype));
  }
  return t;
}

}  // namespace

void to_json(nlohmann::json& j, const Graph& graph) {
  json nodes = json::array();
  for (const Node& n : graph.nodes) {
    json inputs = json::array();
    for (NodeId in : n.inputs)
      inputs.push_back(in == kGraphInput ? graph.input_name : graph.nodes.at(static_cast<std::size_t>(in)).name);
    json params = json::array();
    for (const TensorSpec& t : n.params)
      params.push_back(
          {{"name", t.name}, {"shape", t.shape}, {"kind", to_string(t.kind)}, {"dtype", to_string(t.dtype)}});
    nodes.push_back({{"name", n.name},
                     {"op", to_string(n.op)},
                     {"inputs", std::move(inputs)},
                     {"attrs", attrs_to_json(n.attrs)},
                     {"params", std::move(params)}});
  }
  j = {{"format", kIrFormat},
       {"version", kIrVersion},
       {"architecture", graph.architecture},
       {"num_classes", graph.num_classes},
       {"input", {{"name", graph.input_name}, {"channels", graph.input_channels}}},
       {"nodes", std::move(nodes)}};
}

void from_json(const nlohmann::json& j, Graph& graph) {
  const std::string root = "$";
  if (get_string(j, root, "format") != kIrFormat)
    malformed("$.format", fmt::format("expected \"{}\"", kIrFormat));
  const std::int64_t version = get_int(j, root, "version");
  if (version != kIrVersion)
    malformed("$.version",
              fmt::format("version {} is not supported (this build reads version {})", version, kIrVersion));

  Graph g;
  g.architecture = get_string(j, root, "architecture");
  g.num_classes = get_int(j, root, "num_classes");
  const json& input = field(j, root, "input");
  g.input_name = get_string(input, "$.input", "name");
  g.input_channels = get_int(input, "$.input", "channels");

  std::map<std::string, NodeId, std::less<>> ids{{g.input_name, kGraphInput}};
  const json& nodes = get_array(j, root, "nodes");
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::string path = fmt::format("$.nodes[{}]", i);
    Node n;
    n.id = static_cast<NodeId>(i);
    n.name = get_string(nodes[i], path, "name");
    const std::string op = get_string(nodes[i], path, "op");
    const auto kind = parse_op_kind(op);
    if (!kind) malformed(path_of(path, "op"), fmt::format("unknown op \"{}\"", op));
    n.op = *kind;
    const json& inputs = get_array(nodes[i], path, "inputs");
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const std::string in_path = fmt::format("{}.inputs[{}]", path, k);
      if (!inputs[k].is_string()) malformed(in_path, "expected a node name");
      auto it = ids.find(inputs[k].get<std::string>());
      // Only earlier names are known here, so a forward reference reads as unknown: the order is the contract.
      if (it == ids.end())
        malformed(in_path,
                  fmt::format("\"{}\" is not the graph input or an earlier node", inputs[k].get<std::string>()));
      n.inputs.push_back(it->second);
    }
    n.attrs = attrs_from_json(n.op, field(nodes[i], path, "attrs"), path_of(path, "attrs"));
    const json& params = get_array(nodes[i], path, "params");
    for (std::size_t k = 0; k < params.size(); ++k)
      n.params.push_back(tensor_from_json(params[k], fmt::format("{}.params[{}]", path, k)));
    if (!ids.emplace(n.name, n.id).second)
      malformed(path_of(path, "name"), fmt::format("duplicate name \"{}\"", n.name));
    g.nodes.push_back(std::move(n));
  }
  validate(g);
  graph = std::move(g);
}

}  // namespace inferbench::model
