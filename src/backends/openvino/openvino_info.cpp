// Static description of the backend(s) of this folder, built with or without
// the SDK (see inferbench_add_backend in src/backends/CMakeLists.txt).
#include "backends/backend.h"

namespace inferbench::backends {

#ifdef INFERBENCH_BACKEND_BUILT
BackendRuntime openvino_runtime();  // openvino_backend.cpp
#endif

BackendInfo openvino_backend_info() {
  BackendInfo b;
  b.name = "openvino";
  b.description = "OpenVINO CPU plugin";
  // TensorFlow's formats through OpenVINO's own TF and TFLite readers: a second
  // reader of the same files, so a conversion error cannot hide behind one runtime.
  b.formats = {"openvino", "onnx", "savedmodel", "tflite"};
  b.precisions = {artifact::Precision::kFP32, artifact::Precision::kFP16, artifact::Precision::kINT8};
  b.options = {{"hint", "latency", "latency|throughput: ov::hint::performance_mode"},
               {"streams", "", "N >= 1 or AUTO: ov::num_streams (default: chosen by the hint)"},
               {"precision", "f32", "f32|bf16|f16: ov::hint::inference_precision"},
               {"async_requests", "1", "N >= 1: infer requests a batch is split over (start_async/wait when > 1)"}};
  b.precision_option = "precision";
  b.compute = {{artifact::Precision::kFP32, "f32"},
               {artifact::Precision::kBF16, "bf16"},
               {artifact::Precision::kFP16, "f16"}};
  b.compute_formats = {"openvino"};
#ifdef INFERBENCH_BACKEND_BUILT
  return with_runtime(std::move(b), openvino_runtime());
#else
  return unavailable(std::move(b), INFERBENCH_BACKEND_UNAVAILABLE);
#endif
}

}  // namespace inferbench::backends
