// Static description of the backend(s) of this folder, built with or without
// the SDK (see inferbench_add_backend in src/backends/CMakeLists.txt).
#include "backends/backend.h"

namespace inferbench::backends {

#ifdef INFERBENCH_BACKEND_BUILT
BackendRuntime onnxruntime_runtime();  // onnxruntime_backend.cpp
#endif

BackendInfo onnxruntime_backend_info() {
  BackendInfo b;
  b.name = "onnxruntime";
  b.description = "ONNX Runtime, CPU execution provider";
  b.formats = {"onnx"};
  b.precisions = {artifact::Precision::kFP32, artifact::Precision::kFP16, artifact::Precision::kINT8};
  b.options = {{"inter_op_threads", "1", "N >= 1: threads running independent nodes (execution_mode=parallel only)"},
               {"graph_optimization_level", "all", "disable|basic|extended|all: ORT's graph rewrites"},
               {"execution_mode", "sequential", "sequential|parallel: node scheduling"},
               {"memory_pattern", "1", "1|0: pre-plan buffers from the first run's shapes"}};
  b.concurrent_infer = true;  // infer() only reads the loaded model
#ifdef INFERBENCH_BACKEND_BUILT
  return with_runtime(std::move(b), onnxruntime_runtime());
#else
  return unavailable(std::move(b), INFERBENCH_BACKEND_UNAVAILABLE);
#endif
}

}  // namespace inferbench::backends
