#include "train/torch_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace inferbench::train {

namespace {

using model::Node;
using model::OpKind;

std::vector<std::string> split_dots(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = name.find('.', start);
    parts.push_back(name.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// The submodule for the dotted prefix of a tensor name, created on demand:
// LibTorch forbids dots in a single registered name, so torchvision's nested
// module paths become nested modules.
torch::nn::Module& module_at(torch::nn::Module& root, const std::vector<std::string>& path) {
  torch::nn::Module* m = &root;
  for (const auto& part : path) {
    auto children = m->named_children();
    if (auto* found = children.find(part)) {
      m = found->get();
    } else {
      m = m->register_module(part, std::make_shared<torch::nn::Module>()).get();
    }
  }
  return *m;
}

torch::ScalarType scalar_type(model::DType d) {
  return d == model::DType::kInt64 ? torch::kLong : torch::kFloat;
}

// torchvision's initialisation, per kind of tensor.
void init_tensor(const Node& node, const model::TensorSpec& spec, torch::Tensor& t) {
  torch::NoGradGuard no_grad;
  const std::string suffix = spec.name.substr(spec.name.rfind('.') + 1);
  switch (node.op) {
    case OpKind::kConv2d:
      if (suffix == "weight") {
        torch::nn::init::kaiming_normal_(t, 0.0, torch::kFanOut, torch::kReLU);
      } else {
        t.zero_();
      }
      return;
    case OpKind::kBatchNorm2d:
      if (suffix == "weight" || suffix == "running_var") {
        t.fill_(1.0);
      } else {
        t.zero_();
      }
      return;
    case OpKind::kLinear:
      if (suffix == "weight") {
        t.normal_(0.0, 0.01);
      } else {
        t.zero_();
      }
      return;
    default:
      t.zero_();
  }
}

}  // namespace

TorchModelImpl::TorchModelImpl(model::Graph graph) : graph_(std::move(graph)) {
  model::validate(graph_);
  tensors_.resize(graph_.nodes.size());
  last_use_.assign(graph_.nodes.size(), -1);
  readers_.assign(graph_.nodes.size(), 0);
  for (const auto& node : graph_.nodes) {
    for (auto in : node.inputs) {
      if (in >= 0) {
        last_use_[static_cast<std::size_t>(in)] = node.id;
        ++readers_[static_cast<std::size_t>(in)];
      }
    }
    for (const auto& spec : node.params) {
      auto path = split_dots(spec.name);
      const std::string leaf = path.back();
      path.pop_back();
      torch::nn::Module& owner = module_at(*this, path);
      torch::Tensor t = torch::empty(spec.shape, torch::TensorOptions().dtype(scalar_type(spec.dtype)));
      init_tensor(node, spec, t);
      if (spec.kind == model::TensorKind::kParameter) {
        t = owner.register_parameter(leaf, t);
      } else {
        t = owner.register_buffer(leaf, t);
      }
      tensors_[static_cast<std::size_t>(node.id)].push_back(t);
    }
  }
}

// Under autograd, an op may overwrite its input t only when nothing else
// ever reads t (an earlier reader may have saved it for backward) and the
// backward of t's producer does not read t: convolution, batch norm, linear
// layers and adds need their inputs, not their outputs. Dropout and
// stochastic depth are looked through (eval mode, or p = 0, returns the
// input itself). Anything else (an activation's output, a view) is refused.
bool TorchModelImpl::overwritable_under_autograd(int id) const {
  if (id == model::kGraphInput || readers_[static_cast<std::size_t>(id)] != 1) return false;
  const Node& producer = graph_.nodes[static_cast<std::size_t>(id)];
  switch (producer.op) {
    case OpKind::kConv2d:
    case OpKind::kBatchNorm2d:
    case OpKind::kLinear:
    case OpKind::kAdd: return true;
    case OpKind::kDropout:
    case OpKind::kStochasticDepth: return overwritable_under_autograd(producer.inputs.at(0));
    default: return false;
  }
}

torch::Tensor TorchModelImpl::forward(const torch::Tensor& input) {
  std::vector<torch::Tensor> out(graph_.nodes.size());
  const bool training = is_training();
  // Activations and residual adds write into their input when nothing else
  // reads it, as torchvision's inplace=True modules and `out += identity` do:
  // a fresh tensor per op costs 7-9% at batch 32 and 224x224 in inference
  // and ~10% of a MobileNetV2 training step at 64x64 (benchmarks/torch.md).
  // Without autograd any dead input will do; with autograd only the ops whose
  // own backward does not need their input (ReLU, ReLU6 and SiLU as
  // torchvision runs them in place, add) and only into a tensor that no
  // backward reads (overwritable_under_autograd). Autograd's version
  // counters would reject a wrong case at backward() rather than compute a
  // wrong gradient; the tests compare gradients with the out-of-place path.
  const bool grad = torch::GradMode::is_enabled();
  last_in_place_ = 0;
  for (const auto& node : graph_.nodes) {
    auto arg = [&](std::size_t i) -> const torch::Tensor& {
      const auto id = node.inputs.at(i);
      return id == model::kGraphInput ? input : out[static_cast<std::size_t>(id)];
    };
    // Input i, writable in place: this node is its last reader, it is not the
    // caller's input nor read twice here, no other tensor shares its memory
    // (views, the identity of eval-mode dropout), and it has the result's shape.
    auto writable = [&](std::size_t i, c10::IntArrayRef result_shape) -> torch::Tensor* {
      if (!in_place_) return nullptr;
      const auto id = node.inputs.at(i);
      if (id == model::kGraphInput || last_use_[static_cast<std::size_t>(id)] != node.id) return nullptr;
      if (std::count(node.inputs.begin(), node.inputs.end(), id) != 1) return nullptr;
      if (grad) {
        const bool op_ok = node.op == OpKind::kReLU || node.op == OpKind::kReLU6 || node.op == OpKind::kSiLU ||
                           node.op == OpKind::kAdd;
        if (!op_ok || !overwritable_under_autograd(id)) return nullptr;
      }
      torch::Tensor& t = out[static_cast<std::size_t>(id)];
      if (!t.defined() || t.storage().use_count() != 1 || t.sizes() != result_shape) return nullptr;
      ++last_in_place_;
      return &t;
    };
    const auto& w = tensors_[static_cast<std::size_t>(node.id)];
    torch::Tensor y;
    switch (node.op) {
      case OpKind::kConv2d: {
        const auto& a = node.conv();
        y = torch::conv2d(arg(0), w[0], a.bias ? w[1] : torch::Tensor(), {a.stride[0], a.stride[1]},
                          {a.padding[0], a.padding[1]}, {a.dilation[0], a.dilation[1]}, a.groups);
        break;
      }
      case OpKind::kBatchNorm2d: {
        const auto& a = node.batch_norm();
        // w = weight, bias, running_mean, running_var, num_batches_tracked
        const bool update_stats = training && !batchnorm_frozen_;
        y = torch::batch_norm(arg(0), w[0], w[1], w[2], w[3], update_stats, a.momentum, a.eps, false);
        if (update_stats) {
          torch::NoGradGuard no_grad;
          w[4].add_(1);
        }
        break;
      }
      case OpKind::kReLU: {
        auto* t = writable(0, arg(0).sizes());
        y = t ? t->relu_() : torch::relu(arg(0));
        break;
      }
      case OpKind::kReLU6: {
        auto* t = writable(0, arg(0).sizes());
        y = t ? torch::hardtanh_(*t, 0.0, 6.0) : torch::hardtanh(arg(0), 0.0, 6.0);
        break;
      }
      case OpKind::kSiLU: {
        auto* t = writable(0, arg(0).sizes());
        y = t ? torch::silu_(*t) : torch::silu(arg(0));
        break;
      }
      case OpKind::kSigmoid: {
        auto* t = writable(0, arg(0).sizes());
        y = t ? t->sigmoid_() : torch::sigmoid(arg(0));
        break;
      }
      case OpKind::kHardSwish: {
        auto* t = writable(0, arg(0).sizes());
        y = t ? torch::hardswish_(*t) : torch::hardswish(arg(0));
        break;
      }
      case OpKind::kAdd:
      case OpKind::kMul: {
        const auto shape = at::infer_size(arg(0).sizes(), arg(1).sizes());
        const bool add = node.op == OpKind::kAdd;
        if (auto* t = writable(0, shape)) {
          y = add ? t->add_(arg(1)) : t->mul_(arg(1));
        } else if (auto* u = writable(1, shape)) {
          y = add ? u->add_(arg(0)) : u->mul_(arg(0));
        } else {
          y = add ? arg(0) + arg(1) : arg(0) * arg(1);
        }
        break;
      }
      case OpKind::kMaxPool2d: {
        const auto& a = node.max_pool();
        y = torch::max_pool2d(arg(0), {a.kernel[0], a.kernel[1]}, {a.stride[0], a.stride[1]},
                              {a.padding[0], a.padding[1]});
        break;
      }
      case OpKind::kGlobalAvgPool: y = torch::adaptive_avg_pool2d(arg(0), {1, 1}); break;
      case OpKind::kFlatten: y = torch::flatten(arg(0), node.flatten().start_dim); break;
      case OpKind::kLinear:
        y = torch::linear(arg(0), w[0], node.linear().bias ? w[1] : torch::Tensor());
        break;
      case OpKind::kDropout: y = torch::dropout(arg(0), node.dropout().p, training); break;
      case OpKind::kStochasticDepth: {
        // torchvision.ops.stochastic_depth, "row" mode: drop a whole sample's
        // branch with probability p, scale survivors by 1 / (1 - p).
        const double p = node.stochastic_depth().p;
        if (!training || p == 0.0) {
          y = arg(0);
        } else {
          const double survival = 1.0 - p;
          auto mask = torch::empty({arg(0).size(0), 1, 1, 1}, arg(0).options()).bernoulli_(survival);
          if (survival > 0.0) mask.div_(survival);
          y = arg(0) * mask;
        }
        break;
      }
      case OpKind::kSoftmax: y = torch::softmax(arg(0), node.softmax().dim); break;
    }
    out[static_cast<std::size_t>(node.id)] = std::move(y);
    // Free intermediates nobody reads any more (autograd keeps what it needs).
    for (auto in : node.inputs) {
      if (in >= 0 && last_use_[static_cast<std::size_t>(in)] == node.id) out[static_cast<std::size_t>(in)] = torch::Tensor();
    }
  }
  return out.back();
}

std::vector<std::pair<std::string, torch::Tensor>> TorchModelImpl::named_state() const {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& node : graph_.nodes) {
    for (std::size_t i = 0; i < node.params.size(); ++i) {
      state.emplace_back(node.params[i].name, tensors_[static_cast<std::size_t>(node.id)][i]);
    }
  }
  return state;
}

void TorchModelImpl::load_state(const std::map<std::string, torch::Tensor>& state, const std::string& source) {
  std::vector<std::string> missing;
  std::vector<std::string> mismatched;
  std::size_t matched = 0;
  for (const auto& [name, tensor] : named_state()) {
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
      continue;
    }
    if (!it->second.sizes().equals(tensor.sizes())) {
      mismatched.push_back(fmt::format("{} (file {}, model {})", name, fmt::join(it->second.sizes(), "x"),
                                       fmt::join(tensor.sizes(), "x")));
      continue;
    }
    ++matched;
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, t] : state) {
    bool known = false;
    for (const auto& node : graph_.nodes) {
      for (const auto& p : node.params) known = known || p.name == name;
    }
    if (!known) unexpected.push_back(name);
  }
  if (!missing.empty() || !mismatched.empty() || !unexpected.empty()) {
    auto head = [](const std::vector<std::string>& v) {
      std::vector<std::string> h(v.begin(), v.begin() + static_cast<long>(std::min<std::size_t>(v.size(), 4)));
      return fmt::format("{}{}", fmt::join(h, ", "), v.size() > 4 ? fmt::format(", ... ({} in all)", v.size()) : "");
    };
    std::string msg = fmt::format("weights in '{}' do not fit the {} model ({} of {} tensors match)", source,
                                  graph_.architecture, matched, named_state().size());
    if (!missing.empty()) msg += fmt::format("; missing: {}", head(missing));
    if (!mismatched.empty()) msg += fmt::format("; wrong shape: {}", head(mismatched));
    if (!unexpected.empty()) msg += fmt::format("; unexpected: {}", head(unexpected));
    fail(ExitCode::kInput, msg);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : named_state()) tensor.copy_(state.at(name).to(tensor.scalar_type()));
}

std::vector<std::string> TorchModelImpl::classifier_tensor_names() const {
  for (auto it = graph_.nodes.rbegin(); it != graph_.nodes.rend(); ++it) {
    if (it->op == OpKind::kLinear) {
      std::vector<std::string> names;
      for (const auto& p : it->params) names.push_back(p.name);
      return names;
    }
  }
  return {};
}

void TorchModelImpl::freeze_backbone() {
  const auto keep = classifier_tensor_names();
  for (auto& [name, tensor] : named_state()) {
    if (tensor.requires_grad() && std::find(keep.begin(), keep.end(), name) == keep.end()) tensor.requires_grad_(false);
  }
  batchnorm_frozen_ = true;
}

}  // namespace inferbench::train
