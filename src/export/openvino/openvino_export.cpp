// export_openvino: the inference graph as an OpenVINO IR (.xml + .bin), built
// with OpenVINO's own C++ op classes (opset13) and written by ov::save_model,
// so OpenVINO itself guarantees the IR is valid (every op validates its
// inputs' shapes and types as it is constructed).
//
// Mapping (NCHW throughout):
//   Conv2d            Convolution, or GroupConvolution when groups > 1 with the
//                     weights seen as [G, O/G, I/G, kh, kw]; bias: Add [1, O, 1, 1]
//   BatchNorm2d       BatchNormInference (only when the caller did not fold it)
//   ReLU / ReLU6      Relu / Clamp(0, 6)
//   SiLU / HardSwish  Swish (beta 1) / HSwish
//   GlobalAvgPool     ReduceMean over {2, 3}, keep_dims
//   Flatten           Reshape [0, ..., 0, -1] with special_zero (batch-size free)
//   Linear            MatMul(x, W, transpose_b) + Add bias
//   Dropout, StochasticDepth  identity
// Nodes keep their IR names as friendly names; weights are Constants named
// after their IR tensors. The model's rt_info carries the description under
// "inferbench" (classes, preprocess, source, architecture: JSON strings).
//
// fp16 stores the weights as f16 (ov::save_model's compression: Constants
// become f16 with a Convert back to f32); the runtime computes in whatever
// precision its inference_precision hint selects.
#include <fmt/format.h>
#include <fcntl.h>
#include <unistd.h>

#include <openvino/core/graph_util.hpp>
#include <openvino/core/model.hpp>
#include <openvino/core/version.hpp>
#include <openvino/opsets/opset13.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "export/exporter.h"

namespace inferbench::exporters {

namespace {

namespace fs = std::filesystem;
namespace ops = ov::opset13;
using model::Node;
using model::NodeId;
using model::OpKind;

ov::Shape to_ov(const model::Shape& s) { return ov::Shape(s.begin(), s.end()); }
ov::Shape hw_shape(const model::Hw& v) { return {static_cast<std::size_t>(v[0]), static_cast<std::size_t>(v[1])}; }
ov::Strides hw_strides(const model::Hw& v) { return {static_cast<std::size_t>(v[0]), static_cast<std::size_t>(v[1])}; }

std::shared_ptr<ops::Constant> f32_constant(const std::vector<float>& values, const ov::Shape& shape,
                                            const std::string& name) {
  auto c = std::make_shared<ops::Constant>(ov::element::f32, shape, values.data());  // copies the values
  c->set_friendly_name(name);
  return c;
}

std::shared_ptr<ops::Constant> i64_constant(const std::vector<std::int64_t>& values, const std::string& name) {
  auto c = ops::Constant::create(ov::element::i64, ov::Shape{values.size()}, values);
  c->set_friendly_name(name);
  return c;
}

// Builds the ov::Model node by node; outputs_[id] is the value of IR node id.
class ModelBuilder {
 public:
  explicit ModelBuilder(const InferenceModel& model) : model_(model) {}

  std::shared_ptr<ov::Model> build(const ov::PartialShape& input_shape) {
    input_ = std::make_shared<ops::Parameter>(ov::element::f32, input_shape);
    input_->set_friendly_name("input");
    input_->output(0).get_tensor().set_names({"input"});
    for (const Node& n : model_.graph.nodes) {
      try {
        outputs_.push_back(emit(n));
      } catch (const ov::Exception& e) {
        // An op rejected its inputs: the graph is one OpenVINO cannot express this way.
        fail(ExitCode::kInput, fmt::format("OpenVINO export: node '{}' ({}) cannot be built: {}", n.name,
                                           model::to_string(n.op), e.what()));
      }
    }
    ov::Output<ov::Node> logits = outputs_.back();
    logits.get_tensor().set_names({"logits"});
    auto result = std::make_shared<ops::Result>(logits);
    result->set_friendly_name("logits");
    auto m = std::make_shared<ov::Model>(ov::ResultVector{result}, ov::ParameterVector{input_},
                                         model_.graph.architecture.empty() ? "inferbench" : model_.graph.architecture);
    return m;
  }

 private:
  [[nodiscard]] ov::Output<ov::Node> value(NodeId id) const {
    return id == model::kGraphInput ? input_->output(0) : outputs_.at(static_cast<std::size_t>(id));
  }

  // The i-th tensor of the node (node.params order), as a Constant of `shape` (default: its own shape).
  std::shared_ptr<ops::Constant> weight(const Node& n, std::size_t i, std::optional<ov::Shape> shape = std::nullopt) {
    const std::string& name = n.params.at(i).name;
    const auto it = model_.weights.find(name);
    if (it == model_.weights.end()) {
      fail(ExitCode::kInput, fmt::format("OpenVINO export: tensor '{}' of node '{}' has no weights", name, n.name));
    }
    return f32_constant(it->second.values, shape ? *shape : to_ov(it->second.shape), name);
  }

  template <typename Op, typename... Args>
  std::shared_ptr<Op> make(const std::string& name, Args&&... args) {
    auto op = std::make_shared<Op>(std::forward<Args>(args)...);
    op->set_friendly_name(name);
    return op;
  }

  ov::Output<ov::Node> emit(const Node& n) {
    const ov::Output<ov::Node> x = n.inputs.empty() ? input_->output(0) : value(n.inputs[0]);
    switch (n.op) {
      case OpKind::kConv2d: {
        const auto& a = n.conv();
        const ov::Strides strides = hw_strides(a.stride);
        const ov::Strides dilations = hw_strides(a.dilation);
        const ov::CoordinateDiff pads{a.padding[0], a.padding[1]};
        ov::Output<ov::Node> y;
        const std::string conv_name = a.bias ? n.name + ".conv" : n.name;
        if (a.groups == 1) {
          y = make<ops::Convolution>(conv_name, x, weight(n, 0), strides, pads, pads, dilations);
        } else {
          const auto g = static_cast<std::size_t>(a.groups);
          const ov::Shape grouped{g, static_cast<std::size_t>(a.out_channels) / g,
                                  static_cast<std::size_t>(a.in_channels) / g, static_cast<std::size_t>(a.kernel[0]),
                                  static_cast<std::size_t>(a.kernel[1])};
          y = make<ops::GroupConvolution>(conv_name, x, weight(n, 0, grouped), strides, pads, pads, dilations);
        }
        if (a.bias) {
          const ov::Shape b{1, static_cast<std::size_t>(a.out_channels), 1, 1};
          y = make<ops::Add>(n.name, y, weight(n, 1, b));
        }
        return y;
      }
      case OpKind::kBatchNorm2d:  // weight, bias, running_mean, running_var = gamma, beta, mean, variance
        return make<ops::BatchNormInference>(n.name, x, weight(n, 0), weight(n, 1), weight(n, 2), weight(n, 3),
                                             n.batch_norm().eps);
      case OpKind::kReLU: return make<ops::Relu>(n.name, x);
      case OpKind::kReLU6: return make<ops::Clamp>(n.name, x, 0.0, 6.0);
      case OpKind::kSiLU: return make<ops::Swish>(n.name, x);  // x * sigmoid(beta x), beta = 1
      case OpKind::kSigmoid: return make<ops::Sigmoid>(n.name, x);
      case OpKind::kHardSwish: return make<ops::HSwish>(n.name, x);
      case OpKind::kAdd: return make<ops::Add>(n.name, x, value(n.inputs.at(1)));
      case OpKind::kMul: return make<ops::Multiply>(n.name, x, value(n.inputs.at(1)));  // numpy broadcast
      case OpKind::kMaxPool2d: {
        const auto& a = n.max_pool();
        // Padding is ignored by the max (as PyTorch's implicit -inf); output 0 is the values, 1 the indices.
        // (strides, dilations, pads begin, pads end, kernel, rounding)
        return make<ops::MaxPool>(n.name, x, hw_strides(a.stride), ov::Strides{1, 1}, hw_shape(a.padding),
                                  hw_shape(a.padding), hw_shape(a.kernel), ov::op::RoundingType::FLOOR)
            ->output(0);
      }
      case OpKind::kGlobalAvgPool:
        return make<ops::ReduceMean>(n.name, x, i64_constant({2, 3}, n.name + ".axes"), /*keep_dims=*/true);
      case OpKind::kFlatten: {
        // torch.flatten(x, start): keep dims [0, start) (0 = copy the input's dim), merge the rest (-1).
        std::vector<std::int64_t> pattern(static_cast<std::size_t>(n.flatten().start_dim), 0);
        pattern.push_back(-1);
        return make<ops::Reshape>(n.name, x, i64_constant(pattern, n.name + ".shape"), /*special_zero=*/true);
      }
      case OpKind::kLinear: {
        const std::string mm_name = n.linear().bias ? n.name + ".matmul" : n.name;
        // y = x W^T (+ b), W stored as [out, in] like PyTorch.
        ov::Output<ov::Node> y =
            make<ops::MatMul>(mm_name, x, weight(n, 0), /*transpose_a=*/false, /*transpose_b=*/true);
        if (n.linear().bias) y = make<ops::Add>(n.name, y, weight(n, 1));
        return y;
      }
      case OpKind::kDropout:
      case OpKind::kStochasticDepth: return x;  // identity at inference
      case OpKind::kSoftmax: return make<ops::Softmax>(n.name, x, n.softmax().dim);
    }
    fail(ExitCode::kInput, fmt::format("OpenVINO export: node '{}' has op '{}', which the exporter cannot write",
                                       n.name, model::to_string(n.op)));
  }

  const InferenceModel& model_;
  std::shared_ptr<ops::Parameter> input_;
  std::vector<ov::Output<ov::Node>> outputs_;
};

// "<dir>/<stem>.tmp-<pid>.xml": save_model puts the .bin beside it with the same stem.
fs::path temporary_xml(const fs::path& out) {
  return out.parent_path() / fmt::format("{}.tmp-{}.xml", out.stem().string(), ::getpid());
}

// ov::save_model does not fsync; a rename must not reach the disk before the data it names.
void sync_file(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // the rename below reports a missing file
  ::fsync(fd);
  ::close(fd);
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
}

}  // namespace

artifact::Artifact export_openvino(const InferenceModel& model, const ExportOptions& options) {
  if (options.precision != artifact::Precision::kFP32 && options.precision != artifact::Precision::kFP16) {
    fail(ExitCode::kUsage, fmt::format("OpenVINO export: precision '{}' is not supported (fp32 or fp16)",
                                       artifact::to_string(options.precision)));
  }
  if (options.out.extension() != ".xml") {
    fail(ExitCode::kUsage, fmt::format("OpenVINO export: '{}' must end in .xml (the .bin is written beside it)",
                                       options.out.string()));
  }
  artifact::Artifact artifact = base_artifact(model, options);
  artifact.format = "openvino";
  const ov::Version version = ov::get_openvino_version();
  artifact.source["exporter"] = {
      {"format", "openvino"}, {"opset", "opset13"}, {"openvino", version.buildNumber}, {"weights", options.precision}};

  // Our own shape inference first: an input size the graph cannot take is a usage error, named by node.
  const model::Shape input{1, artifact.channels, artifact.height, artifact.width};
  const model::Shape logits = model::infer_shapes(model.graph, input).back();
  if (logits != model::Shape{1, model.graph.num_classes}) {
    fail(ExitCode::kInput, fmt::format("OpenVINO export: the graph's output is {}, not [N, {}] logits",
                                       model::shape_to_string(logits), model.graph.num_classes));
  }

  const ov::PartialShape input_shape{options.dynamic_batch ? ov::Dimension::dynamic() : ov::Dimension(1),
                                     artifact.channels, artifact.height, artifact.width};
  std::shared_ptr<ov::Model> m = ModelBuilder(model).build(input_shape);
  m->set_rt_info(model.graph.architecture, std::vector<std::string>{"inferbench", "architecture"});
  m->set_rt_info(dump_json(model.classes, -1), std::vector<std::string>{"inferbench", "classes"});
  m->set_rt_info(dump_json(model.preprocess, -1), std::vector<std::string>{"inferbench", "preprocess"});
  m->set_rt_info(dump_json(artifact.source, -1), std::vector<std::string>{"inferbench", "source"});

  const fs::path xml = options.out;
  const fs::path bin = fs::path(xml).replace_extension(".bin");
  const fs::path tmp_xml = temporary_xml(xml);
  const fs::path tmp_bin = fs::path(tmp_xml).replace_extension(".bin");
  std::error_code ec;
  if (xml.has_parent_path()) fs::create_directories(xml.parent_path(), ec);
  if (ec) fail(ExitCode::kOutput, fmt::format("cannot create '{}': {}", xml.parent_path().string(), ec.message()));
  try {
    ov::save_model(m, tmp_xml, /*compress_to_fp16=*/options.precision == artifact::Precision::kFP16);
  } catch (const std::exception& e) {  // ov::Exception, or std::filesystem's
    remove_quietly(tmp_xml);
    remove_quietly(tmp_bin);
    fail(ExitCode::kOutput, fmt::format("cannot write '{}': {}", xml.string(), e.what()));
  }
  // Flushed, then the .bin renamed first and the .xml last: readers open the .xml, so a
  // crash before the last rename never leaves a new .xml without its complete .bin.
  sync_file(tmp_bin);
  sync_file(tmp_xml);
  fs::rename(tmp_bin, bin, ec);
  if (!ec) fs::rename(tmp_xml, xml, ec);
  if (ec) {
    remove_quietly(tmp_xml);
    remove_quietly(tmp_bin);
    fail(ExitCode::kOutput, fmt::format("cannot write '{}': {}", xml.string(), ec.message()));
  }
  return artifact;
}

}  // namespace inferbench::exporters
