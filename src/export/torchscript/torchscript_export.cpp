// export_torchscript: writes the inference graph as a TorchScript module
// without Python and without the tracer.
//
// The module ("__torch__.InferbenchModel") holds every weight as a parameter
// with a sanitised name (TorchScript attribute names cannot contain dots:
// "features.0.0.weight" becomes "features_0_0_weight") and one scripted
// method, forward(self, input: Tensor) -> Tensor, generated as TorchScript
// source from the graph (one aten builtin per node, in node order) and
// compiled with Module::define(). The same source, the artifact description
// (classes, preprocessing, input size, provenance) and the map from attribute
// names back to IR names travel inside the .pt as extra files, so the file is
// self-describing in C++ (torch::jit::load(path, device, extra_files)) and in
// Python (torch.jit.load(path, _extra_files=...)).
#include <fmt/format.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cctype>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "export/exporter.h"
#include "artifact/torchscript_format.h"

namespace inferbench::exporters {

namespace {

using model::Node;
using model::OpKind;

// A TorchScript identifier for an IR tensor name: every character that is not
// [A-Za-z0-9_] becomes '_', and a leading digit gets a '_' in front.
std::string attribute_name(const std::string& ir_name) {
  std::string out;
  out.reserve(ir_name.size() + 1);
  for (char c : ir_name) out += std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out.front())) != 0) out.insert(0, 1, '_');
  return out;
}

std::string int_list(const model::Hw& v) { return fmt::format("[{}, {}]", v[0], v[1]); }

// Python literal for a double that reads back as the same double.
std::string float_literal(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // "1" would be an int
  return s;
}

// Builds the module's attributes and the source of forward() together, so the
// source only ever refers to attributes that exist.
class SourceWriter {
 public:
  SourceWriter(const InferenceModel& model, torch::jit::Module& module) : model_(model), module_(module) {}

  std::string write() {
    std::string src = "def forward(self, input: Tensor) -> Tensor:\n";
    for (const Node& node : model_.graph.nodes) {
      src += fmt::format("    # {} ({})\n", node.name, model::to_string(node.op));
      src += fmt::format("    {} = {}\n", value(node.id), expression(node));
    }
    src += fmt::format("    return {}\n", value(model_.graph.output().id));
    return src;
  }

  // attribute name -> IR tensor name, for the description.
  [[nodiscard]] const std::map<std::string, std::string>& attributes() const { return attributes_; }

 private:
  static std::string value(model::NodeId id) { return id == model::kGraphInput ? "input" : fmt::format("x{}", id); }

  std::string arg(const Node& node, std::size_t i) const { return value(node.inputs.at(i)); }

  // Registers the node's i-th tensor (in node.params order) and returns "self.<name>".
  std::string weight(const Node& node, std::size_t i) {
    const std::string& ir_name = node.params.at(i).name;
    const auto it = model_.weights.find(ir_name);
    if (it == model_.weights.end()) {
      fail(ExitCode::kInput,
           fmt::format("TorchScript export: tensor '{}' of node '{}' has no weights", ir_name, node.name));
    }
    const std::string name = attribute_name(ir_name);
    if (!attributes_.emplace(name, ir_name).second) {
      // Two IR names that sanitise alike ("a.b" and "a_b"): cannot happen with
      // the builders' torchvision names, so it is a programmer error.
      throw std::logic_error(fmt::format("TorchScript export: tensors '{}' and '{}' both map to attribute '{}'",
                                         attributes_.at(name), ir_name, name));
    }
    const Weight& w = it->second;
    // from_blob does not own the memory (and wants a non-const pointer): clone.
    torch::Tensor t = torch::from_blob(const_cast<float*>(w.values.data()), w.shape, torch::kFloat32).clone();
    module_.register_parameter(name, t, /*is_buffer=*/false);
    return "self." + name;
  }

  std::string expression(const Node& node) {
    switch (node.op) {
      case OpKind::kConv2d: {
        const auto& a = node.conv();
        return fmt::format("torch.conv2d({}, {}, {}, {}, {}, {}, {})", arg(node, 0), weight(node, 0),
                           a.bias ? weight(node, 1) : "None", int_list(a.stride), int_list(a.padding),
                           int_list(a.dilation), a.groups);
      }
      case OpKind::kBatchNorm2d: {  // only when the caller did not fold (or a batch norm not after a conv)
        const auto& a = node.batch_norm();
        // weight, bias, running_mean, running_var; training=False, momentum, eps, cudnn_enabled
        return fmt::format("torch.batch_norm({}, {}, {}, {}, {}, False, {}, {}, False)", arg(node, 0),
                           weight(node, 0), weight(node, 1), weight(node, 2), weight(node, 3),
                           float_literal(a.momentum), float_literal(a.eps));
      }
      case OpKind::kReLU: return fmt::format("torch.relu({})", arg(node, 0));
      case OpKind::kReLU6: return fmt::format("torch.hardtanh({}, 0.0, 6.0)", arg(node, 0));
      case OpKind::kSiLU: return fmt::format("torch.silu({})", arg(node, 0));
      case OpKind::kSigmoid: return fmt::format("torch.sigmoid({})", arg(node, 0));
      case OpKind::kHardSwish: return fmt::format("torch.hardswish({})", arg(node, 0));
      case OpKind::kAdd: return fmt::format("{} + {}", arg(node, 0), arg(node, 1));
      case OpKind::kMul: return fmt::format("{} * {}", arg(node, 0), arg(node, 1));
      case OpKind::kMaxPool2d: {
        const auto& a = node.max_pool();
        // kernel, stride, padding, dilation, ceil_mode
        return fmt::format("torch.max_pool2d({}, {}, {}, {}, [1, 1], False)", arg(node, 0), int_list(a.kernel),
                           int_list(a.stride), int_list(a.padding));
      }
      // The same op as the training module, so the two agree bit for bit.
      case OpKind::kGlobalAvgPool: return fmt::format("torch.adaptive_avg_pool2d({}, [1, 1])", arg(node, 0));
      case OpKind::kFlatten: return fmt::format("torch.flatten({}, {})", arg(node, 0), node.flatten().start_dim);
      case OpKind::kLinear:
        return fmt::format("torch.linear({}, {}, {})", arg(node, 0), weight(node, 0),
                           node.linear().bias ? weight(node, 1) : "None");
      case OpKind::kDropout:
      case OpKind::kStochasticDepth: return arg(node, 0);  // identity at inference
      case OpKind::kSoftmax: return fmt::format("torch.softmax({}, {})", arg(node, 0), node.softmax().dim);
    }
    fail(ExitCode::kInput, fmt::format("TorchScript export: node '{}' has op '{}', which the exporter cannot write",
                                       node.name, model::to_string(node.op)));
  }

  const InferenceModel& model_;
  torch::jit::Module& module_;
  std::map<std::string, std::string> attributes_;
};

}  // namespace

artifact::Artifact export_torchscript(const InferenceModel& model, const ExportOptions& options) {
  if (options.precision != artifact::Precision::kFP32) {
    fail(ExitCode::kUsage,
         fmt::format("TorchScript export: precision '{}' is not supported (only fp32)", artifact::to_string(options.precision)));
  }
  artifact::Artifact artifact = base_artifact(model, options);
  artifact.format = "torchscript";
  artifact.dynamic_batch = true;  // TorchScript never fixes the batch size
  artifact.source["exporter"] = {{"name", "inferbench torchscript"}, {"torch_version", TORCH_VERSION}};
  // Fails with Error(kUsage) naming the node when the graph cannot take this input size.
  model::infer_shapes(model.graph, {1, artifact.channels, artifact.height, artifact.width});

  torch::jit::Module module(c10::QualifiedName(std::string(torchscript::kModuleName)));
  // nn.Module's flag; eval() and torch.jit.freeze need it.
  module.register_attribute("training", c10::BoolType::get(), false);
  SourceWriter writer(model, module);
  const std::string source = writer.write();
  try {
    module.define(source);
  } catch (const c10::Error& e) {
    // The generator wrote source TorchScript rejects: a bug here, not the user's.
    throw std::logic_error(fmt::format("TorchScript export: generated source does not compile: {}\n{}",
                                       e.what_without_backtrace(), source));
  }
  module.eval();

  nlohmann::json description = artifact::to_json(artifact);
  description["torchscript"] = {{"module", std::string(torchscript::kModuleName)}, {"attributes", writer.attributes()}};
  torch::jit::ExtraFilesMap extra{{std::string(torchscript::kDescriptionFile), dump_json(description, 2)},
                                  {std::string(torchscript::kSourceFile), source}};
  std::ostringstream bytes;
  try {
    module.save(bytes, extra);
  } catch (const c10::Error& e) {
    fail(ExitCode::kOutput, fmt::format("cannot write '{}': {}", options.out.string(), e.what_without_backtrace()));
  }
  write_file_atomic(options.out, bytes.view());
  return artifact;
}

}  // namespace inferbench::exporters
