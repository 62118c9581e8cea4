// OpenCV's DNN module reading the ONNX artifact (Debian: libopencv-dnn-dev,
// OpenCV 4.6), on the CPU.
//
// Options: backend=default|opencv (default is OpenCV's own implementation
// unless OpenCV was built with Inference Engine), target=cpu, fusion=on|off
// (layer fusion, on by default in OpenCV). Threads: cv::setNumThreads, which
// is process-wide; a worker runs one backend, so that is the one in force.
//
// OpenCV's ONNX importer supports a subset of ONNX and throws cv::Exception on
// the rest (and on malformed files); every cv::Exception becomes Error(kInput)
// naming the file and carrying OpenCV's message. Known limits of Debian's 4.6
// with our exports: Clip with min/max as inputs (opset >= 11, our ReLU6) is
// rejected at load, and graphs with a per-sample broadcast Mul (EfficientNet's
// squeeze-excitation) run only at batch size 1.
#include <fmt/format.h>

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/core/version.hpp>
#include <opencv2/dnn.hpp>
#include <system_error>

#include "backends/backend.h"
#include "common/error.h"

namespace inferbench::backends {

namespace {

constexpr const char* kName = "opencv-dnn";

class OpenCvDnnBackend final : public Backend {
 public:
  void load(const artifact::Artifact& artifact, const Options& options, int threads) override {
    backend_ = choice_option(options, kName, "backend", "default", {"default", "opencv"});
    target_ = choice_option(options, kName, "target", "cpu", {"cpu"});
    fusion_ = choice_option(options, kName, "fusion", "on", {"on", "off"}) == "on";
    path_ = artifact.path;
    classes_ = static_cast<std::int64_t>(artifact.classes.size());

    std::error_code ec;
    if (!std::filesystem::is_regular_file(path_, ec)) {
      fail(ExitCode::kInput, fmt::format("'{}': model file not found", path_.string()));
    }
    cv::setNumThreads(threads);
    try {
      net_ = cv::dnn::readNetFromONNX(path_.string());
      if (net_.empty()) fail(ExitCode::kInput, fmt::format("'{}': OpenCV DNN read an empty network", path_.string()));
      net_.setPreferableBackend(backend_ == "opencv" ? cv::dnn::DNN_BACKEND_OPENCV : cv::dnn::DNN_BACKEND_DEFAULT);
      net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
      net_.enableFusion(fusion_);
    } catch (const cv::Exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': OpenCV {} DNN cannot read this ONNX model: {}", path_.string(),
                                         CV_VERSION, e.what()));
    }
    input_name_ = artifact.input_name;
  }

  Logits infer(const float* input, const std::vector<std::int64_t>& shape) override {
    if (shape.size() != 4 || shape[0] < 1) {
      fail(ExitCode::kInput, fmt::format("'{}': OpenCV DNN expects a 4-d NCHW batch, got {} dimensions",
                                         path_.string(), shape.size()));
    }
    const std::vector<int> dims(shape.begin(), shape.end());
    // setInput copies the blob, so wrapping the caller's buffer without a copy is safe.
    const cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F, const_cast<float*>(input));
    cv::Mat out;
    try {
      net_.setInput(blob, input_name_);
      out = net_.forward();
    } catch (const cv::Exception& e) {
      // OpenCV imports a graph at batch 1 and some layers keep that shape (its Scale layer, which a
      // squeeze-excitation block's per-sample Mul becomes, fails for N > 1: opencv/opencv#17063).
      const std::string hint =
          shape[0] > 1 ? " (OpenCV DNN runs some graphs, e.g. squeeze-excitation blocks, only at batch size 1)" : "";
      fail(ExitCode::kInput, fmt::format("'{}': OpenCV {} DNN failed to run a {}x{}x{}x{} batch{}: {}", path_.string(),
                                         CV_VERSION, shape[0], shape[1], shape[2], shape[3], hint, e.what()));
    }
    // Logits must be [N, classes] (OpenCV may keep trailing 1-dims; only their product matters).
    const std::int64_t n = shape[0];
    if (out.type() != CV_32F || out.dims < 2 || out.size[0] != n || !out.isContinuous() ||
        (classes_ > 0 && static_cast<std::int64_t>(out.total()) != n * classes_)) {
      std::string got;
      for (int i = 0; i < out.dims; ++i) {
        if (i > 0) got += 'x';
        got += std::to_string(out.size[i]);
      }
      fail(ExitCode::kInput, fmt::format("'{}': OpenCV DNN returned an output of shape {} (type {}), expected {}x{}",
                                         path_.string(), got, out.type(), n,
                                         classes_ > 0 ? std::to_string(classes_) : std::string("classes")));
    }
    Logits logits;
    logits.batch = n;
    logits.classes = static_cast<std::int64_t>(out.total()) / n;
    const auto* p = out.ptr<float>();
    logits.values.assign(p, p + out.total());
    return logits;
  }

  // What executed: the layers OpenCV made of the model, by type, on the
  // plain CPU target. OpenCV cannot be asked a per-layer precision; on that
  // target (with its own implementation, the only one this build has) every
  // layer computes in float32, its reduced-precision targets being OpenCL,
  // Vulkan and CUDA ones, so the answer is that target's.
  [[nodiscard]] nlohmann::json execution() override {
    nlohmann::json layers = nlohmann::json::object();
    try {
      std::vector<cv::String> types;
      net_.getLayerTypes(types);
      for (const auto& t : types) layers[t] = net_.getLayersCount(t);
    } catch (const cv::Exception&) {  // the answer is optional; the run is not
    }
    return {{"precision", "fp32"},
            {"how", "OpenCV DNN, CPU target: float32 layers (the layer types of the loaded net)"},
            {"layers", layers}};
  }

  [[nodiscard]] nlohmann::json settings() const override {
    return {{"backend", resolved_backend()},
            {"target", target_},
            {"fusion", fusion_},
            {"threads", cv::getNumThreads()},
            {"opencv_version", CV_VERSION}};
  }

 private:
  // DNN_BACKEND_DEFAULT means Inference Engine when OpenCV was built with it, else OpenCV's own.
  [[nodiscard]] std::string resolved_backend() const {
    if (backend_ == "opencv") return "opencv";
    for (const auto& [b, t] : cv::dnn::getAvailableBackends()) {
      if (b == cv::dnn::DNN_BACKEND_INFERENCE_ENGINE) return "default (inference-engine)";
    }
    return "default (opencv)";
  }

  cv::dnn::Net net_;
  std::filesystem::path path_;
  std::string input_name_ = "input";
  std::string backend_ = "default";
  std::string target_ = "cpu";
  bool fusion_ = true;
  std::int64_t classes_ = 0;  // 0 = unknown (no sidecar): any [N, k] output is accepted
};

}  // namespace

BackendRuntime opencv_dnn_runtime() { return {CV_VERSION, [] { return std::make_unique<OpenCvDnnBackend>(); }}; }

}  // namespace inferbench::backends
