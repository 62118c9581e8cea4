// The torchscript backend: a TorchScript module (.pt) loaded with
// torch::jit::load, in eval mode, run under InferenceMode.
//
// Options:
//   freeze=1|0    torch::jit::freeze: inline the weights as constants, so the
//                 graph executor can fold and fuse them (default 1);
//   optimize=1|0  torch::jit::optimize_for_inference: conv/batch-norm folding,
//                 conv-add-relu fusion and, where LibTorch has oneDNN, oneDNN
//                 layouts for convolutions (default 1). LibTorch freezes a
//                 module first whenever it optimises one, so optimize=1 means
//                 frozen even with freeze=0; settings() says what happened.
//
// Input size: inferbench's own exports carry their description inside the .pt
// (torchscript_format.h); the artifact's height/width win when it gives them,
// else the embedded ones are checked; a .pt from elsewhere with no
// description has only its channels checked (3 unless the artifact says).
#include <fmt/format.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <functional>
#include <map>

#include <exception>
#include <nlohmann/json.hpp>
#include <system_error>

#include "backends/backend.h"
#include "backends/torch/torch_backend_base.h"
#include "common/error.h"
#include "artifact/torchscript_format.h"

namespace inferbench::backends {

namespace {

constexpr const char* kName = "torchscript";

class TorchScriptBackend final : public torch_common::TorchBackendBase {
 public:
  void load(const artifact::Artifact& artifact, const Options& options, int threads) override {
    freeze_ = int_option(options, kName, "freeze", 1, 0, 1) == 1;
    optimize_ = int_option(options, kName, "optimize", 1, 0, 1) == 1;
    torch_common::set_threads(kName, threads);
    require_nchw(artifact);
    const std::string file = artifact.path.string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(artifact.path, ec)) {
      fail(ExitCode::kInput, fmt::format("'{}': model file not found", file));
    }

    const std::string description_file(torchscript::kDescriptionFile);
    torch::jit::ExtraFilesMap extra{{description_file, ""}};
    try {
      module_ = torch::jit::load(file, c10::Device(c10::kCPU), extra);
    } catch (const std::exception& e) {
      fail(ExitCode::kInput,
           fmt::format("'{}': not a loadable TorchScript module: {}", file, torch_common::message(e)));
    }
    if (!module_.find_method("forward")) {
      fail(ExitCode::kInput, fmt::format("'{}': the TorchScript module has no forward() method", file));
    }
    embedded_ = !extra[description_file].empty();
    expect_input(artifact.path, artifact.channels, artifact.height, artifact.width);
    if (embedded_) read_description(artifact, extra[description_file]);

    module_.eval();
    try {
      if (optimize_) {
        module_ = torch::jit::optimize_for_inference(module_);  // freezes first (see above)
        frozen_ = true;
      } else if (freeze_) {
        module_ = torch::jit::freeze(module_);
        frozen_ = true;
      }
    } catch (const std::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': {} failed: {}", file, optimize_ ? "optimize_for_inference" : "freeze",
                                         torch_common::message(e)));
    }
  }

  [[nodiscard]] nlohmann::json settings() const override {
    nlohmann::json s = common_settings();
    s["mode"] = "torchscript";
    s["freeze"] = freeze_;  // as asked
    s["optimize"] = optimize_;
    s["frozen"] = frozen_;  // as in force
    s["optimized_for_inference"] = optimize_;
    s["embedded_description"] = embedded_;
    return s;
  }

  // What executed, from the graph LibTorch runs: the dtypes of its tensor
  // constants (the weights, once frozen) and of the module's remaining
  // parameters, in elements, and how many nodes of each convolution, linear
  // or oneDNN kind it holds (optimize_for_inference's prepacked oneDNN
  // convolutions show here). TorchScript computes each op in its operands'
  // dtype, so float32 weights and input are float32 compute.
  [[nodiscard]] nlohmann::json execution() override {
    std::map<std::string, std::int64_t> elements;
    std::map<std::string, std::int64_t> kernels;
    for (const auto& t : module_.parameters()) elements[c10::toString(t.scalar_type())] += t.numel();
    std::function<void(torch::jit::Block*)> walk = [&](torch::jit::Block* block) {
      for (torch::jit::Node* node : block->nodes()) {
        const std::string kind = node->kind().toQualString();
        if (node->kind() == c10::prim::Constant && node->outputs().size() == 1 &&
            node->output()->type()->kind() == c10::TypeKind::TensorType) {
          if (const auto v = torch::jit::toIValue(node->output()); v && v->isTensor()) {
            elements[c10::toString(v->toTensor().scalar_type())] += v->toTensor().numel();
          }
        } else if (kind.find("conv") != std::string::npos || kind.find("linear") != std::string::npos ||
                   kind.find("mkldnn") != std::string::npos) {
          ++kernels[kind];
        }
        for (torch::jit::Block* b : node->blocks()) walk(b);
      }
    };
    walk(module_.get_method("forward").graph()->block());
    std::int64_t floating = 0, reduced = 0;
    for (const auto& [dtype, n] : elements) {
      if (dtype == "Float") floating += n;
      if (dtype == "BFloat16" || dtype == "Half") reduced += n;
    }
    const std::string precision = reduced == 0 && floating > 0 ? "fp32" : reduced > 0 && floating == 0 ? "reduced"
                                                                                                       : "unknown";
    return {{"precision", precision == "reduced" ? (elements.count("Half") ? "fp16" : "bf16") : precision},
            {"how", "TorchScript graph: dtypes of its tensor constants and parameters, its convolution/linear nodes"},
            {"tensor_elements_by_dtype", elements},
            {"kernels", kernels}};
  }

 protected:
  at::Tensor run(const at::Tensor& input) override { return module_.forward({input}).toTensor(); }

 private:
  // Takes the input size from the description inside the .pt where the
  // artifact leaves it open, and checks the channels agree.
  void read_description(const artifact::Artifact& artifact, const std::string& text) {
    const std::string file = artifact.path.string();
    std::int64_t channels = artifact.channels, height = artifact.height, width = artifact.width;
    try {
      const nlohmann::json input = nlohmann::json::parse(text).at("input");
      channels = input.value("channels", channels);
      if (height <= 0) height = input.value("height", std::int64_t{0});
      if (width <= 0) width = input.value("width", std::int64_t{0});
    } catch (const nlohmann::json::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': malformed {} inside the module: {}", file,
                                         torchscript::kDescriptionFile, e.what()));
    }
    if (channels != artifact.channels) {
      fail(ExitCode::kInput, fmt::format("'{}': the description says {} input channels, the module was exported for {}",
                                         file, artifact.channels, channels));
    }
    expect_input(artifact.path, channels, height, width);
  }

  torch::jit::Module module_;
  bool freeze_ = true;
  bool optimize_ = true;
  bool frozen_ = false;
  bool embedded_ = false;
};

}  // namespace

BackendRuntime torchscript_runtime() { return {TORCH_VERSION, [] { return std::make_unique<TorchScriptBackend>(); }}; }

}  // namespace inferbench::backends
