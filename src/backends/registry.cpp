// The one list of backends, in the order `inferbench backends` shows them.
// Each entry is the backend folder's own description (src/backends/<name>/):
// available with its SDK, or unavailable with the reason CMake recorded.
// Adding a backend: its folder (inferbench_add_backend) and one line here.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>
#include <string_view>

#include "backends/backend.h"
#include "common/error.h"

namespace inferbench::backends {

// Defined by each backend's own target.
BackendInfo libtorch_backend_info();
BackendInfo torchscript_backend_info();
BackendInfo onnxruntime_backend_info();
BackendInfo openvino_backend_info();
BackendInfo opencv_dnn_backend_info();
BackendInfo tensorflow_backend_info();
BackendInfo litert_backend_info();
BackendInfo fault_backend_info();

namespace {

std::vector<BackendInfo> make_registry() {
  std::vector<BackendInfo> all{
      libtorch_backend_info(),    //
      torchscript_backend_info(),  //
      onnxruntime_backend_info(),  //
      openvino_backend_info(),     //
      opencv_dnn_backend_info(),   //
      tensorflow_backend_info(),   //
      litert_backend_info(),       //
  };
  // Test doubles (crash, hang, out of memory, sleep) only when asked for.
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
