// The one list of backends. A backend whose SDK was not found at build time is
// still listed, as unavailable, with the reason CMake recorded.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>
#include <string_view>

#include "backends/backend.h"
#include "common/error.h"

namespace inferbench::backends {

// Defined by each backend's own target (src/backends/<name>/).
BackendInfo libtorch_backend_info();
BackendInfo torchscript_backend_info();
BackendInfo onnxruntime_backend_info();
BackendInfo openvino_backend_info();
BackendInfo opencv_dnn_backend_info();
BackendInfo fault_backend_info();

namespace {

BackendInfo unavailable(std::string name, std::string description, std::vector<std::string> formats,
                        std::string reason) {
  BackendInfo b;
  b.name = std::move(name);
  b.description = std::move(description);
  b.formats = std::move(formats);
  b.reason = std::move(reason);
  return b;
}

std::vector<BackendInfo> make_registry() {
  std::vector<BackendInfo> all;
#ifdef INFERBENCH_HAVE_BACKEND_TORCH
  all.push_back(libtorch_backend_info());
  all.push_back(torchscript_backend_info());
#else
  all.push_back(unavailable("libtorch", "LibTorch eager: the trained module itself", {"checkpoint"},
                            INFERBENCH_BACKEND_TORCH_REASON));
  all.push_back(unavailable("torchscript", "TorchScript, frozen and optimised for inference", {"torchscript"},
                            INFERBENCH_BACKEND_TORCH_REASON));
#endif
#ifdef INFERBENCH_HAVE_BACKEND_ONNXRUNTIME
  all.push_back(onnxruntime_backend_info());
#else
  all.push_back(unavailable("onnxruntime", "ONNX Runtime, CPU execution provider", {"onnx"},
                            INFERBENCH_BACKEND_ONNXRUNTIME_REASON));
#endif
#ifdef INFERBENCH_HAVE_BACKEND_OPENVINO
  all.push_back(openvino_backend_info());
#else
  all.push_back(unavailable("openvino", "OpenVINO CPU plugin", {"openvino", "onnx"},
                            INFERBENCH_BACKEND_OPENVINO_REASON));
#endif
#ifdef INFERBENCH_HAVE_BACKEND_OPENCV_DNN
  all.push_back(opencv_dnn_backend_info());
#else
  all.push_back(unavailable("opencv-dnn", "OpenCV DNN module, CPU", {"onnx"}, INFERBENCH_BACKEND_OPENCV_DNN_REASON));
#endif
  const char* test = std::getenv("INFERBENCH_TEST_BACKENDS");
  if (test != nullptr && std::string_view(test) == "1") all.push_back(fault_backend_info());
  return all;
}

}  // namespace

const std::vector<BackendInfo>& registry() {
  static const std::vector<BackendInfo> all = make_registry();
  return all;
}

const BackendInfo& find_backend(std::string_view name) {
  const auto& all = registry();
  for (const BackendInfo& b : all)
    if (b.name == name) return b;
  std::vector<std::string> names;
  for (const BackendInfo& b : all) names.push_back(b.name);
  fail(ExitCode::kUsage, fmt::format("unknown backend '{}' (known: {})", name, fmt::join(names, ", ")));
}

std::map<std::string, Options> parse_backend_options(const std::vector<std::string>& entries) {
  std::map<std::string, std::vector<std::string>> by_backend;
  for (const auto& e : entries) {
    const auto colon = e.find(':');
    if (colon == std::string::npos || colon == 0) {
      fail(ExitCode::kUsage, fmt::format("--option '{}' is not of the form backend:key=value", e));
    }
    by_backend[e.substr(0, colon)].push_back(e.substr(colon + 1));
  }
  std::map<std::string, Options> out;
  for (const auto& [name, kv] : by_backend) {
    const BackendInfo& info = find_backend(name);
    out[name] = parse_options(kv);
    check_options(info, out[name]);
  }
  return out;
}

}  // namespace inferbench::backends
