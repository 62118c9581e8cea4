#pragma once
// The artifact formats inferbench knows: the one table every stage reads
// (export names its files from it, backends and verify/bench recognise files
// by it). Adding a format is one row here, one exporter folder under
// src/export/ and a backend that lists the format.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace inferbench::artifact {

struct FormatInfo {
  std::string name;                     // "onnx": what sidecars and capabilities say
  std::vector<std::string> extensions;  // recognised, lower case; the first is the one exports write
  std::string description;              // one line
  // Listed as a model file of an export folder (verify --dir, bench --dir).
  // The checkpoint is not: it is the reference, and lives beside the exports.
  bool exported = true;
  // The artifact is a folder, not a file (a TensorFlow SavedModel:
  // saved_model.pb and variables/); its content is every file in it.
  bool directory = false;
  // The input layout its files take unless their sidecar says otherwise.
  std::string layout = "NCHW";
};

// Every format, in a fixed order: checkpoint, torchscript, onnx, openvino,
// savedmodel, tflite.
const std::vector<FormatInfo>& formats();

// Throws Error(kUsage) naming the value and listing the known names.
const FormatInfo& find_format(std::string_view name);

// Format by file extension (case-insensitive); a folder holding a
// saved_model.pb is a SavedModel whatever its name. Throws Error(kUsage) naming
// the file and the extension, and listing the extensions that are known.
std::string format_of(const std::filesystem::path& path);

// "a, b or c" over the write extensions of the exported formats (and the
// checkpoint's when asked)
// (for messages such as "expected .ckpt, .pt, .onnx or .xml").
std::string extension_list(bool with_checkpoint);

}  // namespace inferbench::artifact
