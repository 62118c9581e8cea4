// The one list of exporters, in the order `export` writes them. Each entry is
// the exporter folder's own description (src/export/<name>/): available with
// its SDK, or unavailable with the reason CMake recorded.
// Adding a format: its row in artifact/format.cpp, its folder
// (inferbench_add_exporter) and one line here.
#include <fmt/format.h>

#include "common/error.h"
#include "export/exporter.h"

namespace inferbench::exporters {

// Defined by each exporter's own target.
ExporterInfo torchscript_exporter_info();
ExporterInfo onnx_exporter_info();
ExporterInfo openvino_exporter_info();
ExporterInfo onnx_int8_exporter_info();
ExporterInfo openvino_int8_exporter_info();
ExporterInfo savedmodel_exporter_info();
ExporterInfo tflite_exporter_info();
ExporterInfo tflite_int8_exporter_info();

const std::vector<ExporterInfo>& exporters() {
  static const std::vector<ExporterInfo> all{
      torchscript_exporter_info(),    //
      onnx_exporter_info(),           //
      openvino_exporter_info(),       //
      onnx_int8_exporter_info(),      //
      openvino_int8_exporter_info(),  //
      savedmodel_exporter_info(),     //
      tflite_exporter_info(),         //
      tflite_int8_exporter_info(),    //
  };
  return all;
}

std::vector<ExportVariant> export_variants() {
  std::vector<ExportVariant> out;
  for (const ExporterInfo& e : exporters())
    for (const artifact::Precision p : e.precisions) out.push_back({&e, p});
  return out;
}

artifact::Artifact write_variant(const ExportVariant& v, const InferenceModel& model, ExportOptions options) {
  if (!v.exporter->available || !v.exporter->write) {
    fail(ExitCode::kUnavailable, fmt::format("export format '{}' is unavailable: {}", v.name(), v.exporter->reason));
  }
  options.precision = v.precision;
  return v.exporter->write(model, options);
}

}  // namespace inferbench::exporters
