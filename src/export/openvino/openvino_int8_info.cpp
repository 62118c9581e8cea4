// Static description of the OpenVINO INT8 exporter, built with or without its SDK
// (see inferbench_add_exporter in src/export/CMakeLists.txt).
#include "export/exporter.h"

namespace inferbench::exporters {

ExporterInfo openvino_int8_exporter_info() {
  ExporterInfo e;
  e.format = "openvino";
  e.description =
      "OpenVINO IR, static INT8: NNCF's nncf.quantize (MIXED preset: per-channel symmetric int8 weights, per-tensor "
      "asymmetric activations, MinMax, fast bias correction) over calibration images of the training split";
  e.precisions = {artifact::Precision::kINT8};
  e.needs_calibration = true;
#ifdef INFERBENCH_EXPORT_BUILT
  return with_writer(std::move(e), export_openvino_int8);
#else
  return unavailable(std::move(e), INFERBENCH_EXPORT_UNAVAILABLE);
#endif
}

}  // namespace inferbench::exporters
