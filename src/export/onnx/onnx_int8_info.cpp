// Static description of the ONNX INT8 exporter, built with or without its SDK
// (see inferbench_add_exporter in src/export/CMakeLists.txt).
#include "export/exporter.h"

namespace inferbench::exporters {

ExporterInfo onnx_int8_exporter_info() {
  ExporterInfo e;
  e.format = "onnx";
  e.description =
      "ONNX, static INT8 (QDQ): ONNX Runtime's quantize_static, per-channel symmetric int8 weights, per-tensor uint8 "
      "activations, MinMax over calibration images of the training split";
  e.precisions = {artifact::Precision::kINT8};
  e.needs_calibration = true;
#ifdef INFERBENCH_EXPORT_BUILT
  return with_writer(std::move(e), export_onnx_int8);
#else
  return unavailable(std::move(e), INFERBENCH_EXPORT_UNAVAILABLE);
#endif
}

}  // namespace inferbench::exporters
