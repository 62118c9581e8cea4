// The libtorch backend: LibTorch eager mode running the trained module itself,
// rebuilt from the checkpoint (IR + weights) exactly as `inferbench train`
// built it, in eval mode under InferenceMode. It is the reference the other
// backends are verified against, and the "no compiler, no graph rewrites"
// baseline of the benchmark.
//
// Input size: the artifact's height/width when its description gives them,
// otherwise the checkpoint's preprocessing image size (the size the test
// split is prepared at); channels always come from the graph.
#include <fmt/format.h>
#include <torch/torch.h>

#include <exception>

#include "backends/backend.h"
#include "backends/torch/torch_backend_base.h"
#include "common/error.h"
#include "train/checkpoint.h"
#include "train/torch_model.h"

namespace inferbench::backends {

namespace {

constexpr const char* kName = "libtorch";

class LibTorchBackend final : public torch_common::TorchBackendBase {
 public:
  void load(const artifact::Artifact& artifact, const Options& options, int threads) override {
    const std::string precision = choice_option(options, kName, "precision", "fp32", {"fp32", "bf16"});
    torch_common::set_threads(kName, threads);
    require_nchw(artifact);
    const std::string file = artifact.path.string();
    train::Checkpoint ck;
    try {
      ck = train::load_checkpoint(artifact.path);
      model_ = train::TorchModel(ck.graph);
      model_->load_state(ck.state, file);
    } catch (const Error&) {
      throw;  // already names the file
    } catch (const std::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': cannot load the checkpoint: {}", file, torch_common::message(e)));
    }
    model_->eval();
    set_compute_precision(*model_, precision == "bf16");
    if (artifact.channels != ck.graph.input_channels) {
      fail(ExitCode::kInput, fmt::format("'{}': the description says {} input channels, the model takes {}", file,
                                         artifact.channels, ck.graph.input_channels));
    }
    const std::int64_t size = ck.preprocess.image_size;
    expect_input(artifact.path, ck.graph.input_channels, artifact.height > 0 ? artifact.height : size,
                 artifact.width > 0 ? artifact.width : size);
    model_name_ = ck.graph.architecture;
  }

  [[nodiscard]] nlohmann::json settings() const override {
    nlohmann::json s = common_settings();
    s["mode"] = "eager";
    s["model"] = model_name_;
    s["precision"] = compute_name();
    return s;
  }

  [[nodiscard]] nlohmann::json execution() override { return tensor_execution(*model_); }

 protected:
  at::Tensor run(const at::Tensor& input) override { return model_->forward(input); }

 private:
  train::TorchModel model_{nullptr};
  std::string model_name_;
};

}  // namespace

BackendRuntime libtorch_runtime() { return {TORCH_VERSION, [] { return std::make_unique<LibTorchBackend>(); }}; }

}  // namespace inferbench::backends
