// Static description of the backend(s) of this folder, built with or without
// the SDK (see inferbench_add_backend in src/backends/CMakeLists.txt).
#include "backends/backend.h"

namespace inferbench::backends {

#ifdef INFERBENCH_BACKEND_BUILT
BackendRuntime libtorch_runtime();  // libtorch_backend.cpp
BackendRuntime torchscript_runtime();  // torchscript_backend.cpp
#endif

BackendInfo libtorch_backend_info() {
  BackendInfo b;
  b.name = "libtorch";
  b.description = "LibTorch eager: the trained module itself, from the checkpoint";
  b.formats = {"checkpoint"};
  b.precisions = {artifact::Precision::kFP32};
  // Nothing else to tune: eager mode runs the module as trained.
  b.options = {{"precision", "fp32",
                "fp32|bf16: the module as trained, or a bfloat16 copy of it (input cast to bfloat16, logits "
                "back to float32, inside the timed call)"}};
  b.precision_option = "precision";
  b.compute = {{artifact::Precision::kFP32, "fp32"}, {artifact::Precision::kBF16, "bf16"}};
  b.compute_formats = {"checkpoint"};
  b.concurrent_infer = true;  // infer() only reads the loaded model
#ifdef INFERBENCH_BACKEND_BUILT
  return with_runtime(std::move(b), libtorch_runtime());
#else
  return unavailable(std::move(b), INFERBENCH_BACKEND_UNAVAILABLE);
#endif
}

BackendInfo torchscript_backend_info() {
  BackendInfo b;
  b.name = "torchscript";
  b.description = "TorchScript (torch::jit), frozen and optimised for inference";
  b.formats = {"torchscript"};
  b.precisions = {artifact::Precision::kFP32};
  b.options = {{"freeze", "1", "1|0: torch::jit::freeze (weights become constants)"},
               {"optimize", "1", "1|0: torch::jit::optimize_for_inference (implies freeze; oneDNN convolutions)"}};
  b.concurrent_infer = true;  // infer() only reads the loaded model
#ifdef INFERBENCH_BACKEND_BUILT
  return with_runtime(std::move(b), torchscript_runtime());
#else
  return unavailable(std::move(b), INFERBENCH_BACKEND_UNAVAILABLE);
#endif
}

}  // namespace inferbench::backends
