// export_onnx_int8: static post-training INT8 quantization of the ONNX file,
// by ONNX Runtime's own quantizer (quantize_onnx.py, embedded below) rather
// than one of ours. inferbench's part is what a quantizer cannot know:
//
// - the calibration images: `count` images of a split written by
//   `data export-tensors` (the training split: never the test images the
//   accuracy is measured on), drawn without replacement by a seeded
//   Fisher-Yates shuffle (common/rng.h, the same on every compiler), in the
//   model's own preprocessing, checked against it;
// - the FP32 graph it quantizes: export_onnx's, written beside the output;
// - the pinned quantizer: the venv interpreter of scripts/install_sdks.sh
//   (INFERBENCH_QUANTIZE_PYTHON overrides it), refused unless it has the
//   pinned onnxruntime; its versions and settings go into the sidecar;
// - the output written atomically, and the artifact described as INT8 with
//   its calibration (images, seed, content hash of the drawn tensor).
//
// Same seed, images and versions give the same file (tested).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/incbin.h"
#include "export/converter.h"
#include "export/exporter.h"

INFERBENCH_INCBIN(quantize_onnx_py, INFERBENCH_QUANTIZE_ONNX_PY);

namespace inferbench::exporters {

namespace fs = std::filesystem;

namespace {

std::string quantizer_python() {
  return converter_python("INFERBENCH_QUANTIZE_PYTHON", INFERBENCH_QUANTIZE_PYTHON);
}

}  // namespace

artifact::Artifact export_onnx_int8(const InferenceModel& model, const ExportOptions& options) {
  if (options.precision != artifact::Precision::kINT8) {
    fail(ExitCode::kUsage, fmt::format("ONNX INT8 export: precision '{}' is not what it writes (int8)",
                                       artifact::to_string(options.precision)));
  }
  const ScratchDir tmp(options.out, "int8");
  const fs::path x_path = tmp.path() / "calibration.npy";
  const nlohmann::json calibration = write_calibration(model, options, x_path, "ONNX INT8 export");

  ExportOptions fp32 = options;
  fp32.precision = artifact::Precision::kFP32;
  fp32.out = tmp.path() / "fp32.onnx";
  (void)export_onnx(model, fp32);

  const fs::path int8 = tmp.path() / "int8.onnx", report = tmp.path() / "report.json";
  const nlohmann::json quantizer = run_converter(
      quantizer_python(), INFERBENCH_INCBIN_VIEW(quantize_onnx_py), tmp.path(), "quantize_onnx.py",
      {"--model", fp32.out.string(), "--calibration", x_path.string(), "--out", int8.string(), "--report",
       report.string(), "--input", "input", "--batch", options.dynamic_batch ? "8" : "1", "--expect-onnxruntime",
       INFERBENCH_QUANTIZE_ORT_VERSION},
      report, "ONNX Runtime's quantizer", "quantize_onnx:");
  move_into_place(int8, options.out);

  artifact::Artifact a = base_artifact(model, options);
  a.format = "onnx";
  a.precision = artifact::Precision::kINT8;
  a.source["quantization"] = quantizer;
  a.source["calibration"] = calibration;
  return a;
}

}  // namespace inferbench::exporters
