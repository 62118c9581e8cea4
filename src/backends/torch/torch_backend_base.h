#pragma once
// What the libtorch and torchscript backends share (internal to this folder):
// thread setup, the input check, running one batch under InferenceMode and
// turning LibTorch's exceptions into inferbench::Error.
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "common/error.h"
#include "model/ir.h"

namespace inferbench::backends::torch_common {

// The message of a LibTorch exception without the C++ backtrace c10::Error
// appends to what() (dozens of frames that say nothing to a user).
inline std::string message(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

// Intra-op threads as the study asks; one inter-op thread, since a benchmark
// runs one inference at a time. LibTorch accepts set_num_interop_threads only
// once per process and only before inter-op work starts (later calls throw),
// so it is tried once; settings() reports what is in force either way.
inline void set_threads(const std::string& backend, int threads) {
  if (threads < 1) fail(ExitCode::kUsage, fmt::format("backend '{}': threads must be >= 1, not {}", backend, threads));
  at::set_num_threads(threads);
  static std::once_flag interop_once;
  std::call_once(interop_once, [] {
    try {
      at::set_num_interop_threads(1);
    } catch (const c10::Error&) {  // already set or already in use: keep what is there
    }
  });
}

// Base of both backends: infer() checks the batch against the expected input,
// runs run() under InferenceMode and copies the logits out.
class TorchBackendBase : public Backend {
 public:
  Logits infer(const float* input, const std::vector<std::int64_t>& shape) final {
    check_input(shape);
    // from_blob wraps the caller's memory without copying; the model only reads it.
    const at::Tensor x = torch::from_blob(const_cast<float*>(input), shape, torch::kFloat32);
    at::Tensor y;
    try {
      c10::InferenceMode guard;
      if (compute_ == torch::kFloat32) {
        y = run(x).contiguous();
      } else {  // the casts are part of running a reduced-precision model, so inside the timed call
        y = run(x.to(compute_));
        computed_ = y.scalar_type();
        y = y.to(torch::kFloat32).contiguous();
      }
    } catch (const std::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': inference failed: {}", path_.string(), message(e)));
    }
    if (y.dim() != 2 || y.size(0) != shape[0] || y.scalar_type() != torch::kFloat32) {
      fail(ExitCode::kInput, fmt::format("'{}': the model returned a {} {} tensor, not {} x classes float logits",
                                         path_.string(), fmt::join(y.sizes(), "x"), c10::toString(y.scalar_type()),
                                         shape[0]));
    }
    Logits out;
    out.batch = y.size(0);
    out.classes = y.size(1);
    out.values.assign(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
    return out;
  }

 protected:
  // The model's forward pass on an N x C x H x W batch (already checked).
  virtual at::Tensor run(const at::Tensor& input) = 0;

  // What infer() accepts: NCHW with these channels; height and width are
  // checked when > 0 (unknown otherwise).
  void expect_input(std::filesystem::path path, std::int64_t channels, std::int64_t height, std::int64_t width) {
    path_ = std::move(path);
    channels_ = channels;
    height_ = height;
    width_ = width;
  }

  // The precision option (BackendInfo::compute), already checked by the
  // backend: without `bf16` the module stays as loaded; with it, its
  // floating-point parameters and buffers become bfloat16 (integer buffers
  // stay), and infer() then casts the input to bfloat16 and the logits back.
  void set_compute_precision(torch::nn::Module& module, bool bf16) {
    compute_ = bf16 ? torch::kBFloat16 : torch::kFloat32;
    if (!bf16) return;
    c10::InferenceMode guard(false);
    torch::NoGradGuard no_grad;
    for (auto& t : module.parameters()) {
      if (t.is_floating_point()) t.set_data(t.to(compute_));
    }
    for (auto& t : module.buffers()) {
      if (t.is_floating_point()) t.set_data(t.to(compute_));
    }
  }

  // What executed, from LibTorch itself: the dtypes of the module's
  // parameters and buffers (elements per dtype) and the dtype the forward pass
  // returned before the cast to float32. Eager LibTorch computes each op in
  // the dtype of its operands and has no silent fallback, so these are the
  // precision that ran.
  [[nodiscard]] nlohmann::json tensor_execution(torch::nn::Module& module) const {
    std::map<std::string, std::int64_t> elements;
    for (const auto& t : module.parameters()) elements[c10::toString(t.scalar_type())] += t.numel();
    for (const auto& t : module.buffers()) elements[c10::toString(t.scalar_type())] += t.numel();
    const bool bf16 = compute_ == torch::kBFloat16;
    const std::string output = c10::toString(computed_.value_or(torch::kFloat32));
    const bool ran_bf16 = bf16 && computed_ == torch::kBFloat16;
    return {{"precision", ran_bf16 ? "bf16" : bf16 ? "unknown" : "fp32"},
            {"how", "LibTorch eager: dtypes of the module's tensors and of the forward pass's output"},
            {"tensor_elements_by_dtype", elements},
            {"forward_output_dtype", output},
            {"mkldnn", at::hasMKLDNN() && at::globalContext().userEnabledMkldnn()}};
  }

  [[nodiscard]] std::string compute_name() const { return compute_ == torch::kBFloat16 ? "bf16" : "fp32"; }

  // The torch backends take NCHW float32 only.
  static void require_nchw(const artifact::Artifact& artifact) {
    if (artifact.layout != "NCHW") {
      fail(ExitCode::kInput, fmt::format("'{}': input layout {} is not NCHW, the only layout LibTorch models take here",
                                         artifact.path.string(), artifact.layout));
    }
  }

  // What both report: threads in force, library version, oneDNN, the input checked.
  [[nodiscard]] nlohmann::json common_settings() const {
    return {{"threads", at::get_num_threads()},
            {"interop_threads", at::get_num_interop_threads()},
            {"torch_version", TORCH_VERSION},
            {"mkldnn", {{"built", at::hasMKLDNN()}, {"enabled", at::globalContext().userEnabledMkldnn()}}},
            {"inference_mode", true},
            {"input", {{"channels", channels_}, {"height", height_}, {"width", width_}}}};
  }

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  void check_input(const std::vector<std::int64_t>& shape) const {
    auto dim = [](std::int64_t d) { return d > 0 ? std::to_string(d) : std::string("?"); };
    const std::string expected = fmt::format("N x {} x {} x {}", channels_, dim(height_), dim(width_));
    bool ok = shape.size() == 4 && shape[0] >= 1 && shape[1] == channels_ && shape[2] >= 1 && shape[3] >= 1;
    ok = ok && (height_ <= 0 || shape[2] == height_) && (width_ <= 0 || shape[3] == width_);
    if (!ok) {
      fail(ExitCode::kInput, fmt::format("'{}': input of shape {} does not fit the model, which expects {} (NCHW)",
                                         path_.string(), model::shape_to_string(shape), expected));
    }
  }

  std::filesystem::path path_;
  torch::ScalarType compute_ = torch::kFloat32;
  std::optional<torch::ScalarType> computed_;  // what the forward pass returned (reduced precision only)
  std::int64_t channels_ = 3;
  std::int64_t height_ = 0;
  std::int64_t width_ = 0;
};

}  // namespace inferbench::backends::torch_common
