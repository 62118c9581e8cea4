// Static description of the backend of this folder, built with or without the
// TensorFlow C API headers (see inferbench_add_backend in src/backends/CMakeLists.txt).
#include "backends/backend.h"

#include <cstdlib>
#include <filesystem>
#include <string>

namespace inferbench::backends {

#ifdef INFERBENCH_BACKEND_BUILT
BackendRuntime tensorflow_runtime();  // tensorflow_backend.cpp
#endif

BackendInfo tensorflow_backend_info() {
  BackendInfo b;
  b.name = "tensorflow";
  b.description = "TensorFlow (the study's Keras baseline): a SavedModel through the TF C API, CPU";
  b.formats = {"savedmodel"};
  b.precisions = {artifact::Precision::kFP32};
  b.options = {{"inter_op_threads", "1", "N >= 1: inter_op_parallelism_threads (independent ops at once)"},
               {"onednn", "1", "1|0: TensorFlow's oneDNN (MKL) kernels and graph rewrites (TF_ENABLE_ONEDNN_OPTS)"}};
#ifdef INFERBENCH_BACKEND_BUILT
  // Built with the headers; the library itself is opened at load time. Said
  // here, without opening it, when it is not where it should be.
  const char* env = std::getenv("INFERBENCH_TF_LIBRARY");
  const std::string lib = env != nullptr && *env != '\0' ? env : INFERBENCH_TF_LIBRARY;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(lib, ec)) {
    return unavailable(std::move(b), "no TensorFlow C API library at '" + lib +
                                         "' (scripts/install_sdks.sh installs tensorflow-cpu into .deps/tf-venv; "
                                         "INFERBENCH_TF_LIBRARY names another)");
  }
  return with_runtime(std::move(b), tensorflow_runtime());
#else
  return unavailable(std::move(b), INFERBENCH_BACKEND_UNAVAILABLE);
#endif
}

}  // namespace inferbench::backends
