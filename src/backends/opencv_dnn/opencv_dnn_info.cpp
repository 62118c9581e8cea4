// Static description of the backend(s) of this folder, built with or without
// the SDK (see inferbench_add_backend in src/backends/CMakeLists.txt).
#include "backends/backend.h"

namespace inferbench::backends {

#ifdef INFERBENCH_BACKEND_BUILT
BackendRuntime opencv_dnn_runtime();  // opencv_dnn_backend.cpp
#endif

BackendInfo opencv_dnn_backend_info() {
  BackendInfo b;
  b.name = "opencv-dnn";
  b.description = "OpenCV DNN module, CPU";
  b.formats = {"onnx"};
  // FP32 only: OpenCV 4.6's ONNX importer refuses FLOAT16 initializers
  // ("Unsupported data type: FLOAT16 in function 'getMatFromTensor'", tried on
  // inferbench's onnx-fp16 files), so an FP16 file is skipped with the reason.
  b.precisions = {artifact::Precision::kFP32};
  b.options = {{"backend", "default", "default|opencv (default is OpenCV's own unless built with Inference Engine)"},
               {"target", "cpu", "cpu"},
               {"fusion", "on", "on|off: OpenCV's layer fusion"}};
#ifdef INFERBENCH_BACKEND_BUILT
  return with_runtime(std::move(b), opencv_dnn_runtime());
#else
  return unavailable(std::move(b), INFERBENCH_BACKEND_UNAVAILABLE);
#endif
}

}  // namespace inferbench::backends
