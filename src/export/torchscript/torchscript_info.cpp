// Static description of this folder's exporter, built with or without its SDK
// (see inferbench_add_exporter in src/export/CMakeLists.txt).
#include "export/exporter.h"

namespace inferbench::exporters {

ExporterInfo torchscript_exporter_info() {
  ExporterInfo e;
  e.format = "torchscript";
  e.description = "TorchScript module generated from the IR (torch::jit), fp32";
  e.precisions = {artifact::Precision::kFP32};
#ifdef INFERBENCH_EXPORT_BUILT
  return with_writer(std::move(e), export_torchscript);
#else
  return unavailable(std::move(e), INFERBENCH_EXPORT_UNAVAILABLE);
#endif
}

}  // namespace inferbench::exporters
