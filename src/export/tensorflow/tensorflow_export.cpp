// export_savedmodel / export_tflite: TensorFlow's formats from the same
// inference graph as every other format, by TensorFlow's own writers. The
// route (docs/design-notes: "TensorFlow and TFLite export"): export_onnx
// writes the FP32 graph into a scratch folder; to_tensorflow.py (embedded
// below), run with the pinned tensorflow-cpu of scripts/install_sdks.sh's
// tf-venv (INFERBENCH_TF_PYTHON overrides it), rebuilds it layer by layer as a
// Keras model in NHWC and writes
// - a SavedModel by Keras' model.export (feed and fetch tensor names read back
//   from its serving signature into the sidecar, for the TF C API);
// - .tflite by the TFLite converter: FP32; FP16 weights (dequantized to FP32
//   at load: FP16 storage, FP32 compute on x86); INT8 by its full-integer path
//   (int8 kernels only, float32 input and output), calibrated on the drawn
//   images of the training split.
// Both take NHWC input: the sidecar says so (layout and preprocessing), and
// the pipeline feeds them NHWC tensors; nothing transposes inside the timed call.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/incbin.h"
#include "export/converter.h"
#include "export/exporter.h"

INFERBENCH_INCBIN(to_tensorflow_py, INFERBENCH_TO_TENSORFLOW_PY);

namespace inferbench::exporters {

namespace fs = std::filesystem;

namespace {

std::string tensorflow_python() {
  return converter_python("INFERBENCH_TF_PYTHON", INFERBENCH_TF_PYTHON);
}

// The NHWC description every TensorFlow-format file shares.
artifact::Artifact nhwc_artifact(const InferenceModel& model, const ExportOptions& options, const char* format,
                                 const nlohmann::json& converter) {
  artifact::Artifact a = base_artifact(model, options);
  a.format = format;
  a.layout = "NHWC";
  a.preprocess.layout = data::Layout::kNHWC;
  a.source["converter"] = converter;
  return a;
}

nlohmann::json convert(const InferenceModel& model, const ExportOptions& options, const char* kind,
                       const fs::path& scratch_out, const ScratchDir& tmp, std::vector<std::string> extra) {
  ExportOptions fp32 = options;
  fp32.precision = artifact::Precision::kFP32;
  fp32.out = tmp.path() / "fp32.onnx";
  (void)export_onnx(model, fp32);
  const fs::path report = tmp.path() / "report.json";
  std::vector<std::string> args{"--model",     fp32.out.string(),
                                "--kind",      kind,
                                "--precision", std::string(artifact::to_string(options.precision)),
                                "--out",       scratch_out.string(),
                                "--report",    report.string(),
                                "--expect-tensorflow", INFERBENCH_TF_VERSION};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_converter(tensorflow_python(), INFERBENCH_INCBIN_VIEW(to_tensorflow_py), tmp.path(), "to_tensorflow.py",
                       std::move(args), report, "TensorFlow's converter", "to_tensorflow:");
}

}  // namespace

artifact::Artifact export_savedmodel(const InferenceModel& model, const ExportOptions& options) {
  if (options.precision != artifact::Precision::kFP32) {
    fail(ExitCode::kUsage, fmt::format("SavedModel export: precision '{}' is not what it writes (fp32)",
                                       artifact::to_string(options.precision)));
  }
  const ScratchDir tmp(options.out, "tf");
  const fs::path out = tmp.path() / "model.savedmodel";
  const nlohmann::json report = convert(model, options, "savedmodel", out, tmp, {});
  move_into_place(out, options.out);
  artifact::Artifact a = nhwc_artifact(model, options, "savedmodel", report);
  // What a TF C API caller feeds and fetches: the serving signature's tensors.
  const nlohmann::json sig = report.value("signature", nlohmann::json::object());
  const auto first_name = [](const nlohmann::json& m) {
    return m.is_object() && !m.empty() && m.begin()->is_string() ? m.begin()->get<std::string>() : std::string();
  };
  a.input_name = first_name(sig.value("inputs", nlohmann::json::object()));
  a.output_name = first_name(sig.value("outputs", nlohmann::json::object()));
  if (a.input_name.empty() || a.output_name.empty()) {
    fail(ExitCode::kInput, fmt::format("the SavedModel written for '{}' has no serving signature with one input and "
                                       "one output: {}",
                                       options.out.string(), sig.dump()));
  }
  return a;
}

artifact::Artifact export_tflite(const InferenceModel& model, const ExportOptions& options) {
  const artifact::Precision p = options.precision;
  if (p != artifact::Precision::kFP32 && p != artifact::Precision::kFP16 && p != artifact::Precision::kINT8) {
    fail(ExitCode::kUsage, fmt::format("TFLite export: precision '{}' is not one it writes (fp32, fp16, int8)",
                                       artifact::to_string(p)));
  }
  const ScratchDir tmp(options.out, "tflite");
  std::vector<std::string> extra;
  nlohmann::json calibration;
  if (p == artifact::Precision::kINT8) {
    const fs::path x = tmp.path() / "calibration.npy";
    calibration = write_calibration(model, options, x, "TFLite INT8 export");
    extra = {"--calibration", x.string()};
  }
  const fs::path out = tmp.path() / "model.tflite";
  const nlohmann::json report = convert(model, options, "tflite", out, tmp, std::move(extra));
  move_into_place(out, options.out);
  artifact::Artifact a = nhwc_artifact(model, options, "tflite", report);
  const nlohmann::json tensors = report.value("tensors", nlohmann::json::object());
  a.input_name = tensors.value("input", nlohmann::json::object()).value("name", a.input_name);
  a.output_name = tensors.value("output", nlohmann::json::object()).value("name", a.output_name);
  if (p == artifact::Precision::kINT8) {
    a.source["quantization"] = report.value("settings", nlohmann::json::object());
    a.source["calibration"] = calibration;
  }
  return a;
}

}  // namespace inferbench::exporters
