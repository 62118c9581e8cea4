// export_onnx: the inference graph as an ONNX ModelProto, written with Debian's
// ONNX library (libonnx-dev, ONNX 1.12) and checked by its own checker and
// shape inference before it reaches the disk.
//
// Value names: the graph input is "input", the last node's output is
// "logits", every other node's output is named after the IR node, and every
// weight is an initializer named by its IR tensor name (torchvision's
// state_dict key), so a Netron view of the file reads like the checkpoint.
// FP16 (`onnx-fp16`): the same graph with float16 weights and values, between
// "input.to_float16" and "logits.to_float32" Casts, so callers pass and get
// float32 as with the FP32 file (what a runtime then computes in is its own
// choice: ONNX Runtime's CPU provider casts back to float32 around kernels it
// has no float16 version of, and its profiler says which ran).
#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/common/version.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <opencv2/core/cvdef.h>

#include <climits>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "export/exporter.h"
#include "inferbench/build_info.h"

namespace inferbench::exporters {

namespace {

using model::Node;
using model::NodeId;
using model::OpKind;

// Softmax-13 normalises over one axis as torch.softmax does (older opsets flatten to 2-d first).
constexpr int kMinOpset = 13;

// The newest opset of the default domain this ONNX library knows (17 for 1.12).
int max_opset() {
  const auto& versions = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().LastReleaseVersionMap();
  const auto it = versions.find(onnx::ONNX_DOMAIN);
  return it == versions.end() ? kMinOpset : it->second;
}

void set_dims(onnx::TypeProto* type, const model::Shape& shape, bool dynamic_batch) {
  type->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto* dims = type->mutable_tensor_type()->mutable_shape();
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i == 0 && dynamic_batch) {
      dims->add_dim()->set_dim_param("batch");
    } else {
      dims->add_dim()->set_dim_value(shape[i]);
    }
  }
}

onnx::AttributeProto* add_attr(onnx::NodeProto* node, const std::string& name) {
  auto* a = node->add_attribute();
  a->set_name(name);
  return a;
}
void attr_int(onnx::NodeProto* node, const std::string& name, std::int64_t v) {
  auto* a = add_attr(node, name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void attr_float(onnx::NodeProto* node, const std::string& name, double v) {
  auto* a = add_attr(node, name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(static_cast<float>(v));
}
void attr_ints(onnx::NodeProto* node, const std::string& name, const std::vector<std::int64_t>& v) {
  auto* a = add_attr(node, name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

// Builds the GraphProto node by node. Values and initializers are named as the
// file comment says; constants the mapping needs (Clip bounds, Reshape shapes)
// are added once and shared.
class GraphWriter {
 public:
  // `half`: every weight and constant stored as float16 and every value
  // computed in it, between a Cast of the float32 input and a Cast of the
  // logits back to float32 (the file's input and output stay float32).
  GraphWriter(const InferenceModel& model, onnx::GraphProto* graph, int opset, bool half)
      : model_(model), graph_(graph), opset_(opset), half_(half) {}

  void write() {
    const auto& nodes = model_.graph.nodes;
    if (half_) attr_int(add_node("Cast", "input.to_float16", {"input"}, "input.float16"), "to", onnx::TensorProto::FLOAT16);
    for (const Node& n : nodes) {
      const bool last = n.id + 1 == static_cast<NodeId>(nodes.size());
      emit(n, !last ? n.name : half_ ? "logits.float16" : "logits");
    }
    if (half_) attr_int(add_node("Cast", "logits.to_float32", {"logits.float16"}, "logits"), "to", onnx::TensorProto::FLOAT);
  }

 private:
  [[nodiscard]] std::string value(NodeId id) const {
    if (id == model::kGraphInput) return half_ ? "input.float16" : "input";
    return model_.graph.nodes[static_cast<std::size_t>(id)].name;
  }

  onnx::NodeProto* add_node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                            const std::string& output) {
    auto* node = graph_->add_node();
    node->set_op_type(op);
    node->set_name(name);
    for (auto& in : inputs) node->add_input(std::move(in));
    node->add_output(output);
    return node;
  }

  // The node's IR tensors as initializers, in node.params order; returns their names.
  std::vector<std::string> weights_of(const Node& n) {
    std::vector<std::string> names;
    for (const model::TensorSpec& t : n.params) {
      if (t.dtype != model::DType::kFloat32) continue;  // num_batches_tracked: not read at inference
      const auto it = model_.weights.find(t.name);
      if (it == model_.weights.end()) {
        fail(ExitCode::kInput, fmt::format("ONNX export: tensor '{}' of node '{}' has no weights", t.name, n.name));
      }
      add_float_initializer(t.name, it->second.shape, it->second.values);
      names.push_back(t.name);
    }
    return names;
  }

  void add_float_initializer(const std::string& name, const model::Shape& shape, const std::vector<float>& values) {
    auto* t = graph_->add_initializer();
    t->set_name(name);
    for (auto d : shape) t->add_dims(d);
    // raw_data is little-endian by the ONNX spec, as floats are in memory on every target we build for.
    if (!half_) {
      t->set_data_type(onnx::TensorProto::FLOAT);
      t->set_raw_data(values.data(), values.size() * sizeof(float));
      return;
    }
    // IEEE binary16, rounded to nearest even (OpenCV's conversion, F16C where the build has it);
    // a weight beyond 65504 becomes infinity, which verify then fails on.
    std::vector<std::uint16_t> bits(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) bits[i] = cv::float16_t(values[i]).bits();
    t->set_data_type(onnx::TensorProto::FLOAT16);
    t->set_raw_data(bits.data(), bits.size() * sizeof(std::uint16_t));
  }

  std::string constant_float(const std::string& name, float v) {
    if (!constants_.contains(name)) {
      add_float_initializer(name, {}, {v});
      constants_.insert(name);
    }
    return name;
  }

  std::string constant_shape(const std::string& name, const std::vector<std::int64_t>& v) {
    if (!constants_.contains(name)) {
      auto* t = graph_->add_initializer();
      t->set_name(name);
      t->set_data_type(onnx::TensorProto::INT64);
      t->add_dims(static_cast<std::int64_t>(v.size()));
      for (auto x : v) t->add_int64_data(x);
      constants_.insert(name);
    }
    return name;
  }

  void emit(const Node& n, const std::string& out) {
    std::vector<std::string> in;
    for (NodeId id : n.inputs) in.push_back(value(id));
    switch (n.op) {
      case OpKind::kConv2d: {
        const auto& a = n.conv();
        for (auto& w : weights_of(n)) in.push_back(std::move(w));
        auto* node = add_node("Conv", n.name, in, out);
        attr_ints(node, "kernel_shape", {a.kernel[0], a.kernel[1]});
        attr_ints(node, "strides", {a.stride[0], a.stride[1]});
        attr_ints(node, "pads", {a.padding[0], a.padding[1], a.padding[0], a.padding[1]});
        attr_ints(node, "dilations", {a.dilation[0], a.dilation[1]});
        attr_int(node, "group", a.groups);
        break;
      }
      case OpKind::kBatchNorm2d: {
        // Only when the caller did not fold (or the pair could not be folded).
        const auto& a = n.batch_norm();
        for (auto& w : weights_of(n)) in.push_back(std::move(w));  // scale, B, mean, var: ONNX's order too
        auto* node = add_node("BatchNormalization", n.name, in, out);
        attr_float(node, "epsilon", a.eps);
        attr_float(node, "momentum", 1.0 - a.momentum);  // ONNX weighs the running value, PyTorch the batch
        break;
      }
      case OpKind::kReLU: add_node("Relu", n.name, in, out); break;
      case OpKind::kReLU6:
        in.push_back(constant_float("relu6.min", 0.0F));
        in.push_back(constant_float("relu6.max", 6.0F));
        add_node("Clip", n.name, in, out);
        break;
      case OpKind::kSiLU: {
        const std::string sig = n.name + ".sigmoid";
        add_node("Sigmoid", sig, in, sig);
        add_node("Mul", n.name, {in[0], sig}, out);
        break;
      }
      case OpKind::kSigmoid: add_node("Sigmoid", n.name, in, out); break;
      case OpKind::kHardSwish:
        if (opset_ >= 14) {
          add_node("HardSwish", n.name, in, out);
        } else {  // x * hardsigmoid(x) with PyTorch's slope 1/6, as HardSwish-14 defines it
          const std::string hs = n.name + ".hardsigmoid";
          auto* node = add_node("HardSigmoid", hs, in, hs);
          attr_float(node, "alpha", 1.0 / 6.0);
          attr_float(node, "beta", 0.5);
          add_node("Mul", n.name, {in[0], hs}, out);
        }
        break;
      case OpKind::kAdd: add_node("Add", n.name, in, out); break;
      case OpKind::kMul: add_node("Mul", n.name, in, out); break;
      case OpKind::kMaxPool2d: {
        const auto& a = n.max_pool();
        auto* node = add_node("MaxPool", n.name, in, out);
        attr_ints(node, "kernel_shape", {a.kernel[0], a.kernel[1]});
        attr_ints(node, "strides", {a.stride[0], a.stride[1]});
        attr_ints(node, "pads", {a.padding[0], a.padding[1], a.padding[0], a.padding[1]});
        break;
      }
      case OpKind::kGlobalAvgPool: add_node("GlobalAveragePool", n.name, in, out); break;
      case OpKind::kFlatten: {
        const std::int64_t start = n.flatten().start_dim;
        if (start == 1) {
          attr_int(add_node("Flatten", n.name, in, out), "axis", 1);
        } else {
          // ONNX Flatten always gives 2-d; torch.flatten keeps the leading dims.
          // Reshape to [0, ..., 0, -1] (0 copies a dim) is torch.flatten exactly.
          std::vector<std::int64_t> shape(static_cast<std::size_t>(start), 0);
          shape.push_back(-1);
          in.push_back(constant_shape(n.name + ".shape", shape));
          add_node("Reshape", n.name, in, out);
        }
        break;
      }
      case OpKind::kLinear:
        for (auto& w : weights_of(n)) in.push_back(std::move(w));
        attr_int(add_node("Gemm", n.name, in, out), "transB", 1);  // y = x W^T + b, W as [out, in]
        break;
      case OpKind::kDropout:
      case OpKind::kStochasticDepth:
        // make_inference_model drops these except as the very last node.
        add_node("Identity", n.name, in, out);
        break;
      case OpKind::kSoftmax: attr_int(add_node("Softmax", n.name, in, out), "axis", n.softmax().dim); break;
    }
  }

  const InferenceModel& model_;
  onnx::GraphProto* graph_;
  int opset_;
  bool half_;
  std::set<std::string> constants_;
};

void add_metadata(onnx::ModelProto& proto, const std::string& key, const std::string& value) {
  auto* p = proto.add_metadata_props();
  p->set_key(key);
  p->set_value(value);
}

}  // namespace

artifact::Artifact export_onnx(const InferenceModel& model, const ExportOptions& options) {
  const int newest = max_opset();
  if (options.opset < kMinOpset || options.opset > newest) {
    fail(ExitCode::kUsage, fmt::format("ONNX export: opset {} is not supported (this build writes opsets {} to {})",
                                       options.opset, kMinOpset, newest));
  }
  if (options.precision != artifact::Precision::kFP32 && options.precision != artifact::Precision::kFP16) {
    fail(ExitCode::kUsage, fmt::format("ONNX export: precision '{}' is not supported (fp32 or fp16)",
                                       artifact::to_string(options.precision)));
  }
  const bool half = options.precision == artifact::Precision::kFP16;
  artifact::Artifact artifact = base_artifact(model, options);
  artifact.format = "onnx";
  artifact.source["exporter"] = {
      {"format", "onnx"}, {"opset", options.opset}, {"onnx_library", onnx::LAST_RELEASE_VERSION},
      {"weights", options.precision}, {"compute", options.precision},
      {"io", half ? "float32, cast to float16 after the input and back before the logits" : "float32"}};

  // Our own shape inference first: an input size the graph cannot take is a usage error, named by node.
  const model::Shape input{1, artifact.channels, artifact.height, artifact.width};
  const model::Shape logits = model::infer_shapes(model.graph, input).back();
  if (logits != model::Shape{1, model.graph.num_classes}) {
    fail(ExitCode::kInput, fmt::format("ONNX export: the graph's output is {}, not [N, {}] logits",
                                       model::shape_to_string(logits), model.graph.num_classes));
  }

  onnx::ModelProto proto;
  proto.set_ir_version(onnx::IR_VERSION);
  proto.set_producer_name("inferbench");
  proto.set_producer_version(build::kVersion);
  proto.set_doc_string(fmt::format("{} image classifier ({} classes), exported by inferbench {}; {} batch norms folded",
                                   model.graph.architecture, model.graph.num_classes, build::kVersion,
                                   model.folded_batch_norms));
  auto* opset = proto.add_opset_import();
  opset->set_domain(onnx::ONNX_DOMAIN);
  opset->set_version(options.opset);
  add_metadata(proto, "architecture", model.graph.architecture);
  add_metadata(proto, "classes", dump_json(model.classes, -1));
  add_metadata(proto, "preprocess", dump_json(model.preprocess, -1));
  add_metadata(proto, "source", dump_json(artifact.source, -1));

  auto* graph = proto.mutable_graph();
  graph->set_name(model.graph.architecture.empty() ? std::string("inferbench") : model.graph.architecture);
  auto* in = graph->add_input();
  in->set_name("input");
  set_dims(in->mutable_type(), input, options.dynamic_batch);
  auto* out = graph->add_output();
  out->set_name("logits");
  set_dims(out->mutable_type(), logits, options.dynamic_batch);
  GraphWriter(model, graph, options.opset, half).write();

  // The library's checks are the proof the file is valid ONNX; a failure is a bug in the mapping above.
  try {
    onnx::checker::check_model(proto);
    onnx::ShapeInferenceOptions strict(/*check_type=*/true, /*strict_mode=*/1);
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), strict);
  } catch (const std::exception& e) {
    fail(ExitCode::kInternal,
         fmt::format("ONNX export of '{}' failed the ONNX checker: {}", options.out.string(), e.what()));
  }
  // InferShapes added value_info for every intermediate; keep the file as written (smaller, and
  // loaders infer shapes themselves).
  graph->clear_value_info();

  if (proto.ByteSizeLong() > static_cast<std::size_t>(INT_MAX)) {
    fail(ExitCode::kInput, fmt::format("ONNX export: '{}' would exceed protobuf's 2 GiB limit for one file",
                                       options.out.string()));
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) {
    fail(ExitCode::kInternal, fmt::format("ONNX export: could not serialise '{}'", options.out.string()));
  }
  write_file_atomic(options.out, bytes);
  return artifact;
}

}  // namespace inferbench::exporters
