// Static description of this folder's exporter, built with or without its SDK
// (see inferbench_add_exporter in src/export/CMakeLists.txt).
#include "export/exporter.h"

namespace inferbench::exporters {

ExporterInfo openvino_exporter_info() {
  ExporterInfo e;
  e.format = "openvino";
  e.description = "OpenVINO IR (.xml + .bin) built with the opset API; fp16 compresses the weights";
  e.precisions = {artifact::Precision::kFP32, artifact::Precision::kFP16};
#ifdef INFERBENCH_EXPORT_BUILT
  return with_writer(std::move(e), export_openvino);
#else
  return unavailable(std::move(e), INFERBENCH_EXPORT_UNAVAILABLE);
#endif
}

}  // namespace inferbench::exporters
