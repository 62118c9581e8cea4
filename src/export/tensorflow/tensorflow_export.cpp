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
// `export` hands every wanted TensorFlow-format file of a model to one run of
// the script (export_tensorflow_batch): one Python start, TensorFlow import and
// Keras rebuild a model, not one a file.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
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

// The precisions each kind writes; anything else is the user's error.
void check_precision(const ExportJob& job, bool savedmodel) {
  const artifact::Precision p = job.options.precision;
  if (savedmodel && p != artifact::Precision::kFP32) {
    fail(ExitCode::kUsage, fmt::format("SavedModel export: precision '{}' is not what it writes (fp32)",
                                       artifact::to_string(p)));
  }
  if (!savedmodel && p != artifact::Precision::kFP32 && p != artifact::Precision::kFP16 &&
      p != artifact::Precision::kINT8) {
    fail(ExitCode::kUsage, fmt::format("TFLite export: precision '{}' is not one it writes (fp32, fp16, int8)",
                                       artifact::to_string(p)));
  }
}

// The artifact of one written job, from its report.
artifact::Artifact describe(const InferenceModel& model, const ExportJob& job, bool savedmodel,
                            const nlohmann::json& report, const nlohmann::json& calibration) {
  const ExportOptions& options = job.options;
  artifact::Artifact a = nhwc_artifact(model, options, savedmodel ? "savedmodel" : "tflite", report);
  if (savedmodel) {
    // What a TF C API caller feeds and fetches: the serving signature's tensors.
    const nlohmann::json sig = report.value("signature", nlohmann::json::object());
    const auto first_name = [](const nlohmann::json& m) {
      return m.is_object() && !m.empty() && m.begin()->is_string() ? m.begin()->get<std::string>() : std::string();
    };
    a.input_name = first_name(sig.value("inputs", nlohmann::json::object()));
    a.output_name = first_name(sig.value("outputs", nlohmann::json::object()));
    if (a.input_name.empty() || a.output_name.empty()) {
      fail(ExitCode::kInput, fmt::format("the SavedModel written for '{}' has no serving signature with one input "
                                         "and one output: {}",
                                         options.out.string(), sig.dump()));
    }
    return a;
  }
  const nlohmann::json tensors = report.value("tensors", nlohmann::json::object());
  a.input_name = tensors.value("input", nlohmann::json::object()).value("name", a.input_name);
  a.output_name = tensors.value("output", nlohmann::json::object()).value("name", a.output_name);
  if (options.precision == artifact::Precision::kINT8) {
    a.source["quantization"] = report.value("settings", nlohmann::json::object());
    a.source["calibration"] = calibration;
  }
  return a;
}

}  // namespace

// One run of to_tensorflow.py for every job: the FP32 ONNX written once, the
// Keras model rebuilt once, then each file written by its own writer, each
// job's failure its own (the script writes an "error" report for it).
std::vector<ExportOutcome> export_tensorflow_batch(const InferenceModel& model, const std::vector<ExportJob>& jobs) {
  std::vector<ExportOutcome> out(jobs.size());
  if (jobs.empty()) return out;
  struct Pending {
    std::size_t index;
    bool savedmodel;
    fs::path file, report;
    nlohmann::json calibration;
  };
  std::vector<Pending> pending;
  const ScratchDir tmp(jobs.front().options.out, "tf");
  nlohmann::json spec = nlohmann::json::array();
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const ExportJob& job = jobs[i];
    const bool savedmodel = job.exporter->format == "savedmodel";
    try {
      check_precision(job, savedmodel);
      const fs::path dir = tmp.path() / fmt::format("job-{}", i);
      fs::create_directories(dir);
      Pending p{i, savedmodel, dir / (savedmodel ? "model.savedmodel" : "model.tflite"), dir / "report.json", {}};
      nlohmann::json j = {{"kind", savedmodel ? "savedmodel" : "tflite"},
                          {"precision", std::string(artifact::to_string(job.options.precision))},
                          {"out", p.file.string()},
                          {"report", p.report.string()}};
      if (job.options.precision == artifact::Precision::kINT8) {
        const fs::path x = dir / "calibration.npy";
        p.calibration = write_calibration(model, job.options, x, "TFLite INT8 export");
        j["calibration"] = x.string();
      }
      spec.push_back(std::move(j));
      pending.push_back(std::move(p));
    } catch (const Error& e) {
      out[i].error = e;
    } catch (const fs::filesystem_error& e) {
      out[i].error = Error(ExitCode::kOutput, fmt::format("cannot write into '{}': {}", tmp.path().string(), e.what()));
    }
  }
  if (pending.empty()) return out;

  ExportOptions fp32 = jobs.front().options;
  fp32.precision = artifact::Precision::kFP32;
  fp32.out = tmp.path() / "fp32.onnx";
  const fs::path spec_file = tmp.path() / "jobs.json";
  try {
    (void)export_onnx(model, fp32);
    write_file_atomic(spec_file, spec.dump(2));
    (void)run_converter(tensorflow_python(), INFERBENCH_INCBIN_VIEW(to_tensorflow_py), tmp.path(), "to_tensorflow.py",
                        {"--model", fp32.out.string(), "--jobs", spec_file.string(), "--report",
                         (tmp.path() / "report.json").string(), "--expect-tensorflow", INFERBENCH_TF_VERSION},
                        tmp.path() / "report.json", "TensorFlow's converter", "to_tensorflow:");
  } catch (const Error& e) {
    if (static_cast<int>(e.code()) > 128) throw;  // interrupted: the export stops
    // The shared part failed (TensorFlow missing, the graph not rebuilt): every job's reason.
    for (const Pending& p : pending) out[p.index].error = e;
    return out;
  }
  for (const Pending& p : pending) {
    const ExportJob& job = jobs[p.index];
    try {
      nlohmann::json report;
      try {
        report = nlohmann::json::parse(read_file_text(p.report));
      } catch (const std::exception& e) {
        fail(ExitCode::kInput, fmt::format("TensorFlow's converter left no readable report for '{}': {}",
                                           job.options.out.string(), e.what()));
      }
      if (report.contains("error")) {
        fail(ExitCode::kInput, fmt::format("TensorFlow's converter ({} to_tensorflow.py) could not write '{}': {}",
                                           tensorflow_python(), job.options.out.string(),
                                           report.value("error", std::string("no message"))));
      }
      move_into_place(p.file, job.options.out);
      out[p.index].artifact = describe(model, job, p.savedmodel, report, p.calibration);
    } catch (const Error& e) {
      out[p.index].error = e;
    }
  }
  return out;
}

namespace {

artifact::Artifact export_one(const InferenceModel& model, const ExportOptions& options, const char* format) {
  ExporterInfo info;
  info.format = format;
  ExportJob job{&info, options};
  std::vector<ExportOutcome> o = export_tensorflow_batch(model, {job});
  if (o.front().error) throw *o.front().error;
  return *o.front().artifact;
}

}  // namespace

artifact::Artifact export_savedmodel(const InferenceModel& model, const ExportOptions& options) {
  return export_one(model, options, "savedmodel");
}

artifact::Artifact export_tflite(const InferenceModel& model, const ExportOptions& options) {
  return export_one(model, options, "tflite");
}

}  // namespace inferbench::exporters
