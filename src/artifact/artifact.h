#pragma once
// The shared vocabulary of export and backends: what a model file is.
//
// An Artifact is a model file in one framework's format plus what a benchmark
// or verification must know about it. It comes from the sidecar
// `<artifact>.json` that `inferbench export` (or `describe`) writes, or, for a
// bare file, from its extension. Export writes artifacts, backends load them;
// neither depends on the other, both depend on this.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "artifact/format.h"
#include "artifact/precision.h"
#include "data/preprocess.h"

namespace inferbench::artifact {

struct Artifact {
  std::filesystem::path path;             // .ckpt, .pt, .onnx, .xml (its .bin beside it)
  std::string format;                     // a FormatInfo name: "checkpoint", "torchscript", "onnx", "openvino"
  Precision precision = Precision::kFP32;  // weights as stored
  std::string model;                      // architecture ("mobilenet_v2") or free text
  std::string input_name = "input";       // graph input, where the format names it
  std::string output_name = "logits";
  std::string layout = "NCHW";            // of the input tensor
  std::int64_t channels = 3, height = 0, width = 0;  // 0 = take it from the tensors
  bool dynamic_batch = true;
  std::vector<std::string> classes;
  data::PreprocessConfig preprocess;
  nlohmann::json source = nlohmann::json::object();  // provenance: checkpoint path and hash, exporter, options
};

// The sidecar path for an artifact: "<artifact path>.json".
std::filesystem::path sidecar_path(const std::filesystem::path& artifact);

// The sidecar's JSON (format_version 1; the path is stored as the file name).
nlohmann::json to_json(const Artifact& a);
// Reads a sidecar's JSON for the artifact at `path`. Error(kInput) naming the
// sidecar when a field is missing or of the wrong type, the precision unknown,
// or the layout neither NCHW nor NHWC.
Artifact from_json(const nlohmann::json& j, const std::filesystem::path& path);

// Reads `<path>.json` when it exists (Error(kInput) naming it when malformed);
// otherwise a bare description from the extension, to be completed by flags.
// Throws Error(kInput) when the artifact itself does not exist, Error(kUsage)
// when its extension is no known format.
Artifact describe(const std::filesystem::path& path);

// Writes the sidecar atomically (Error(kOutput) when it cannot).
void write_sidecar(const Artifact& a);

// The model files in an export folder (the write extension of every exported
// format; with_checkpoints adds .ckpt), sorted. Error(kInput) naming the
// folder when it is not one or holds none.
std::vector<std::filesystem::path> artifacts_in(const std::filesystem::path& dir, bool with_checkpoints);

}  // namespace inferbench::artifact
