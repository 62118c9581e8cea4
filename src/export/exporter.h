#pragma once
// The emitters: one function per format, each reading the same InferenceModel.
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
//   when the format is not built in, Error(kInput) for a graph it cannot express
//   (naming the node and op).
#include <cstdint>
#include <filesystem>
#include <string>

#include "backends/backend.h"
#include "export/inference_model.h"

namespace inferbench::exporters {

struct ExportOptions {
  std::filesystem::path out;
  std::int64_t height = 0;  // input size; 0 = the model's preprocessing image_size
  std::int64_t width = 0;
  bool dynamic_batch = true;
  std::string precision = "fp32";  // "fp16" only where the format supports it (OpenVINO)
  int opset = 17;                  // ONNX only
};

backends::Artifact export_torchscript(const InferenceModel& model, const ExportOptions& options);
backends::Artifact export_onnx(const InferenceModel& model, const ExportOptions& options);
backends::Artifact export_openvino(const InferenceModel& model, const ExportOptions& options);

// The description fields every emitter fills the same way (model, classes,
// preprocessing, input size, provenance); the emitter sets format/precision.
backends::Artifact base_artifact(const InferenceModel& model, const ExportOptions& options);

}  // namespace inferbench::exporters
