// export_openvino_int8: static post-training INT8 quantization of the OpenVINO
// IR by NNCF (quantize_openvino.py, embedded below), the field's quantizer for
// OpenVINO, rather than one of ours. inferbench's part is the same as for the
// ONNX INT8 route (onnx/onnx_int8_export.cpp): the calibration images drawn
// from the training split and checked against the model, the FP32 IR written
// beside the output by export_openvino, the pinned quantizer (the venv of
// scripts/install_sdks.sh; INFERBENCH_QUANTIZE_PYTHON overrides it), its
// versions and settings in the sidecar, the .bin and .xml moved into place
// (the .bin first: a reader opens the .xml).
//
// Same seed, images and versions give the same files (tested).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/incbin.h"
#include "export/converter.h"
#include "export/exporter.h"

INFERBENCH_INCBIN(quantize_openvino_py, INFERBENCH_QUANTIZE_OPENVINO_PY);

namespace inferbench::exporters {

namespace fs = std::filesystem;

namespace {

std::string quantizer_python() {
  return converter_python("INFERBENCH_QUANTIZE_PYTHON", INFERBENCH_QUANTIZE_PYTHON);
}

}  // namespace

artifact::Artifact export_openvino_int8(const InferenceModel& model, const ExportOptions& options) {
  if (options.precision != artifact::Precision::kINT8) {
    fail(ExitCode::kUsage, fmt::format("OpenVINO INT8 export: precision '{}' is not what it writes (int8)",
                                       artifact::to_string(options.precision)));
  }
  if (options.out.extension() != ".xml") {
    fail(ExitCode::kUsage, fmt::format("OpenVINO INT8 export: '{}' must end in .xml (the .bin is written beside it)",
                                       options.out.string()));
  }
  const ScratchDir tmp(options.out, "int8");
  const fs::path x_path = tmp.path() / "calibration.npy";
  const nlohmann::json calibration = write_calibration(model, options, x_path, "OpenVINO INT8 export");

  ExportOptions fp32 = options;
  fp32.precision = artifact::Precision::kFP32;
  fp32.out = tmp.path() / "fp32.xml";
  const artifact::Artifact base = export_openvino(model, fp32);

  const fs::path int8 = tmp.path() / "int8.xml", report = tmp.path() / "report.json";
  const nlohmann::json quantizer = run_converter(
      quantizer_python(), INFERBENCH_INCBIN_VIEW(quantize_openvino_py), tmp.path(), "quantize_openvino.py",
      {"--model", fp32.out.string(), "--calibration", x_path.string(), "--out", int8.string(), "--report",
       report.string(), "--expect-openvino", INFERBENCH_QUANTIZE_OPENVINO_VERSION, "--expect-nncf",
       INFERBENCH_QUANTIZE_NNCF_VERSION},
      report, "NNCF", "quantize_openvino:");
  move_into_place(fs::path(int8).replace_extension(".bin"), fs::path(options.out).replace_extension(".bin"));
  move_into_place(int8, options.out);

  artifact::Artifact a = base;
  a.path = options.out;
  a.precision = artifact::Precision::kINT8;
  a.source["quantization"] = quantizer;
  a.source["calibration"] = calibration;
  return a;
}

}  // namespace inferbench::exporters
