// Static description of the backend of this folder, built with or without
// embedded Python (see inferbench_add_backend in src/backends/CMakeLists.txt).
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace inferbench::backends {

#ifdef INFERBENCH_BACKEND_BUILT
BackendRuntime litert_runtime();  // litert_backend.cpp

// The site-packages LiteRT is imported from: INFERBENCH_LITERT_SITE
// (colon-separated, first first) or the build's default, the tf-venv.
std::vector<std::string> litert_site_dirs() {
  const char* env = std::getenv("INFERBENCH_LITERT_SITE");
  const std::string all = env != nullptr && *env != '\0' ? env : INFERBENCH_LITERT_SITE;
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= all.size()) {
    const std::size_t colon = all.find(':', start);
    const std::string part = all.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!part.empty()) out.push_back(part);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}
#endif

BackendInfo litert_backend_info() {
  BackendInfo b;
  b.name = "litert";
  b.description = "LiteRT (TFLite): a .tflite file in LiteRT's interpreter, XNNPACK delegate, CPU";
  b.formats = {"tflite"};
  b.precisions = {artifact::Precision::kFP32, artifact::Precision::kFP16, artifact::Precision::kINT8};
  b.options = {{"xnnpack", "1", "1|0: the XNNPACK delegate (LiteRT's default CPU path) or LiteRT's built-in kernels"}};
#ifdef INFERBENCH_BACKEND_BUILT
  // Said here, without starting Python, when the runtime is not where it should be.
  std::error_code ec;
  for (const std::string& dir : litert_site_dirs()) {
    if (std::filesystem::is_directory(std::filesystem::path(dir) / "ai_edge_litert", ec)) {
      return with_runtime(std::move(b), litert_runtime());
    }
  }
  const char* env = std::getenv("INFERBENCH_LITERT_SITE");
  const std::string where = env != nullptr && *env != '\0' ? std::string("INFERBENCH_LITERT_SITE='") + env + "'"
                                                           : std::string("'") + INFERBENCH_LITERT_SITE + "'";
  return unavailable(std::move(b), "no ai_edge_litert package in " + where +
                                       " (scripts/install_sdks.sh installs ai-edge-litert into .deps/tf-venv; "
                                       "INFERBENCH_LITERT_SITE names other site-packages)");
#else
  return unavailable(std::move(b), INFERBENCH_BACKEND_UNAVAILABLE);
#endif
}

}  // namespace inferbench::backends
