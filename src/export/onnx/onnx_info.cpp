// Static description of this folder's exporter, built with or without its SDK
// (see inferbench_add_exporter in src/export/CMakeLists.txt).
#include "export/exporter.h"

namespace inferbench::exporters {

ExporterInfo onnx_exporter_info() {
  ExporterInfo e;
  e.format = "onnx";
  e.description = "ONNX (opset 13-18), written with the ONNX library and checked by its checker";
  // FP16: weights and every value in float16 between casts of the float32 input and logits.
  e.precisions = {artifact::Precision::kFP32, artifact::Precision::kFP16};
#ifdef INFERBENCH_EXPORT_BUILT
  return with_writer(std::move(e), export_onnx);
#else
  return unavailable(std::move(e), INFERBENCH_EXPORT_UNAVAILABLE);
#endif
}

}  // namespace inferbench::exporters
