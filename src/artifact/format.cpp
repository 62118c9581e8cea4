#include "artifact/format.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>

#include "common/error.h"

namespace inferbench::artifact {

const std::vector<FormatInfo>& formats() {
  static const std::vector<FormatInfo> all{
      {"checkpoint", {".ckpt"}, "inferbench training checkpoint (LibTorch eager reference)", false},
      {"torchscript", {".pt", ".pth", ".torchscript"}, "TorchScript module", true},
      {"onnx", {".onnx"}, "ONNX model", true},
      {"openvino", {".xml"}, "OpenVINO IR (.xml with its .bin beside it)", true},
      {"savedmodel", {".savedmodel"}, "TensorFlow SavedModel (a folder: saved_model.pb, variables/), NHWC input", true,
       true, "NHWC"},
      {"tflite", {".tflite"}, "TFLite FlatBuffer (LiteRT), NHWC input", true, false, "NHWC"},
  };
  return all;
}

const FormatInfo& find_format(std::string_view name) {
  std::vector<std::string_view> names;
  for (const FormatInfo& f : formats()) {
    if (f.name == name) return f;
    names.push_back(f.name);
  }
  fail(ExitCode::kUsage, fmt::format("unknown artifact format '{}' (known: {})", name, fmt::join(names, ", ")));
}

std::string extension_list(bool with_checkpoint) {
  std::vector<std::string> exts;
  for (const FormatInfo& f : formats())
    if (f.exported || with_checkpoint) exts.push_back(f.extensions.front());
  if (exts.size() < 2) return exts.empty() ? std::string() : exts.front();
  const std::string last = exts.back();
  exts.pop_back();
  return fmt::format("{} or {}", fmt::join(exts, ", "), last);
}

std::string format_of(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path / "saved_model.pb", ec)) return "savedmodel";
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const FormatInfo& f : formats())
    for (const std::string& e : f.extensions)
      if (e == ext) return f.name;
  fail(ExitCode::kUsage, fmt::format("'{}': unknown model format '{}' (expected {})", path.string(),
                                     ext.empty() ? std::string("no extension") : ext, extension_list(true)));
}

}  // namespace inferbench::artifact
