#pragma once
// The emitters: one per format, each reading the same InferenceModel, and the
// registry that lists them (available or not, like the backends).
//
// Contract for every emitter:
// - writes `options.out` atomically (temporary file + rename; OpenVINO writes
//   its .xml and .bin the same way), creating the parent folder;
// - names the graph input "input" (N x C x H x W, float32) and the output
//   "logits" (N x classes); the batch dimension is dynamic where the format
//   allows and options.dynamic_batch is set;
// - reads only the inference graph (batch norm already folded when the caller
//   asked for it; dropout and stochastic depth are identity);
// - returns the Artifact description (format, precision, input/output names,
//   shape, classes, preprocessing, provenance); the caller writes the sidecar;
// - throws Error(kOutput) when the file cannot be written, Error(kUnavailable)
//   when the format is not built in, Error(kUsage) for a precision it does not
//   write, Error(kInput) for a graph it cannot express (naming the node and op).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/artifact.h"
#include "common/error.h"
#include "export/inference_model.h"

namespace inferbench::exporters {

// Images a calibrating exporter (static INT8) feeds its quantizer: a split
// written by `data export-tensors` (already preprocessed, in the model's input
// size and layout), of which `count` images are drawn with `seed`.
struct CalibrationSet {
  std::filesystem::path tensors;
  std::int64_t count = 300;  // 0 = every image of the split
  std::uint64_t seed = 1;
  // true: `count` was asked for, and a split with fewer images is an
  // Error(kUsage); false: a default, and a smaller split is used whole.
  bool exact = false;
};

struct ExportOptions {
  std::filesystem::path out;
  std::int64_t height = 0;  // input size; 0 = the model's preprocessing image_size
  std::int64_t width = 0;
  bool dynamic_batch = true;
  artifact::Precision precision = artifact::Precision::kFP32;  // one of the exporter's precisions
  int opset = 17;                                               // ONNX only
  std::optional<CalibrationSet> calibration;                    // for calibrated precisions; others ignore it
};

// The emitter functions of the formats (each defined only when its SDK is built in).
artifact::Artifact export_torchscript(const InferenceModel& model, const ExportOptions& options);
artifact::Artifact export_onnx(const InferenceModel& model, const ExportOptions& options);
artifact::Artifact export_openvino(const InferenceModel& model, const ExportOptions& options);
// Static INT8 through ONNX Runtime's quantizer (src/export/onnx/onnx_int8_export.cpp):
// needs options.calibration; Error(kUnavailable) when the pinned quantizer is
// not installed, Error(kUsage) for calibration images that do not fit the model
// or a count larger than the split, Error(kInput) when the quantizer fails.
artifact::Artifact export_onnx_int8(const InferenceModel& model, const ExportOptions& options);
// INT8 OpenVINO IR by NNCF (src/export/openvino/quantize_openvino.py) on
// export_openvino's FP32 IR, calibrated the same way; the same errors.
artifact::Artifact export_openvino_int8(const InferenceModel& model, const ExportOptions& options);
// TensorFlow's formats through TensorFlow's own writers (src/export/tensorflow/):
// a SavedModel folder (fp32) and .tflite (fp32, fp16 weights, int8 full-integer,
// which needs options.calibration), both NHWC. Error(kUnavailable) when the
// pinned tensorflow-cpu is not installed, Error(kInput) when the converter
// fails (naming the op it cannot express, or its own message).
artifact::Artifact export_savedmodel(const InferenceModel& model, const ExportOptions& options);
artifact::Artifact export_tflite(const InferenceModel& model, const ExportOptions& options);

// The calibration images of a split of `available`: `count` distinct indices,
// a seeded uniform sample without replacement, the same on every platform.
std::vector<std::size_t> draw_calibration(std::size_t available, std::size_t count, std::uint64_t seed);

// The description fields every emitter fills the same way (model, classes,
// preprocessing, input size, precision, provenance); the emitter sets format.
artifact::Artifact base_artifact(const InferenceModel& model, const ExportOptions& options);

using ExportFn = std::function<artifact::Artifact(const InferenceModel&, const ExportOptions&)>;

struct ExporterInfo;

// One file of an export: a variant and the options it is written with.
struct ExportJob {
  const ExporterInfo* exporter = nullptr;
  ExportOptions options;  // options.precision is the variant's
};

// What became of one job: its artifact, or the error it met (the others go on).
struct ExportOutcome {
  std::optional<artifact::Artifact> artifact;
  std::optional<Error> error;
};

// Writes several jobs of exporters that share one converter (the same
// ExporterInfo::batch) in one run of it, one outcome per job in the same
// order. An interrupt (exit code above 128) is thrown, not returned.
using ExportBatchFn = std::function<std::vector<ExportOutcome>(const InferenceModel&, const std::vector<ExportJob>&)>;

// export_savedmodel and export_tflite for several files in one run of the
// converter (their ExporterInfo::batch, "tensorflow"): the shared part
// (TensorFlow missing, the graph not rebuilt) fails every job, a writer's
// failure only its own.
std::vector<ExportOutcome> export_tensorflow_batch(const InferenceModel& model, const std::vector<ExportJob>& jobs);

// An exporter's description: static data supplied by its folder
// (src/export/<name>/, see inferbench_add_exporter), completed by its emitter
// when the SDK was found, or by the reason when not.
struct ExporterInfo {
  std::string format;       // the artifact format it writes (an artifact::FormatInfo name)
  std::string description;  // one line
  // The precisions it writes, the first being the default. `export` writes
  // one file per precision: "<model><ext>" for fp32, "<model>-<precision><ext>"
  // otherwise, and names that variant "<format>" / "<format>-<precision>".
  std::vector<artifact::Precision> precisions{artifact::Precision::kFP32};
  bool needs_calibration = false;  // writes nothing without ExportOptions::calibration
  bool available = false;
  std::string reason;  // why not available (empty when available)
  ExportFn write;      // empty when unavailable
  // Exporters whose files one converter process can write together (the
  // TensorFlow formats: one Python start, one TensorFlow import and one Keras
  // rebuild a model instead of one a file) share a non-empty `batch` name and
  // its write_batch; write_jobs() hands them every wanted job at once.
  std::string batch;
  ExportBatchFn write_batch;  // empty when unavailable or not batched
};

ExporterInfo with_writer(ExporterInfo info, ExportFn write);
ExporterInfo unavailable(ExporterInfo info, std::string reason);

// Every exporter, available or not, in a fixed order (torchscript, onnx, openvino, onnx INT8,
// savedmodel, tflite, tflite INT8).
const std::vector<ExporterInfo>& exporters();

// One file `export` writes: an exporter in one precision.
struct ExportVariant {
  const ExporterInfo* exporter = nullptr;
  artifact::Precision precision = artifact::Precision::kFP32;
  [[nodiscard]] std::string name() const;  // "onnx", "openvino-fp16"
  // "<dir>/<model><-precision><ext>" with the format's write extension.
  [[nodiscard]] std::filesystem::path file(const std::filesystem::path& dir, const std::string& model) const;
};

// Every exporter x each of its precisions, in registry order.
std::vector<ExportVariant> export_variants();

// Writes one variant: Error(kUnavailable) with the reason when its exporter is
// not built in; otherwise the emitter's own errors.
artifact::Artifact write_variant(const ExportVariant& v, const InferenceModel& model, ExportOptions options);

// Writes every job, those of one batch (ExporterInfo::batch) in one call of
// its write_batch, the others one by one, calling `done(i, outcome)` as job i
// ends (a batch's jobs when its converter ends) and returning the outcomes in
// job order. A job's Error is its outcome; an interrupt (exit code above 128)
// is thrown, and so is whatever `done` throws (the later jobs are not written).
std::vector<ExportOutcome> write_jobs(const InferenceModel& model, const std::vector<ExportJob>& jobs,
                                      const std::function<void(std::size_t, const ExportOutcome&)>& done);

}  // namespace inferbench::exporters
