#include "artifact/artifact.h"

#include <fmt/format.h>

#include <algorithm>
#include <system_error>

#include "common/error.h"
#include "common/files.h"
#include "common/json.h"

namespace inferbench::artifact {

namespace fs = std::filesystem;

fs::path sidecar_path(const fs::path& artifact) {
  // "model.savedmodel/" names the folder: its sidecar is "model.savedmodel.json", beside it.
  const fs::path p = artifact.has_filename() ? artifact : artifact.parent_path();
  return fs::path(p.string() + ".json");
}

nlohmann::json to_json(const Artifact& a) {
  return {{"format_version", 1},
          {"path", a.path.filename().string()},
          {"format", a.format},
          {"precision", a.precision},
          {"model", a.model},
          {"input", {{"name", a.input_name}, {"layout", a.layout}, {"channels", a.channels},
                     {"height", a.height}, {"width", a.width}, {"dynamic_batch", a.dynamic_batch}}},
          {"output", {{"name", a.output_name}}},
          {"classes", a.classes},
          {"preprocess", a.preprocess},
          {"source", a.source}};
}

Artifact from_json(const nlohmann::json& j, const fs::path& path) {
  Artifact a;
  a.path = path;
  try {
    a.format = j.at("format").get<std::string>();
    a.precision = j.value("precision", Precision::kFP32);
    a.model = j.value("model", "");
    const auto& in = j.at("input");
    a.input_name = in.value("name", "input");
    a.layout = in.value("layout", "NCHW");
    a.channels = in.value("channels", std::int64_t{3});
    a.height = in.value("height", std::int64_t{0});
    a.width = in.value("width", std::int64_t{0});
    a.dynamic_batch = in.value("dynamic_batch", true);
    if (j.contains("output")) a.output_name = j["output"].value("name", "logits");
    a.classes = j.value("classes", std::vector<std::string>{});
    if (j.contains("preprocess")) a.preprocess = j["preprocess"].get<data::PreprocessConfig>();
    a.source = j.value("source", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    fail(ExitCode::kInput, fmt::format("'{}': malformed artifact description: {}", sidecar_path(path).string(), e.what()));
  }
  if (a.layout != "NCHW" && a.layout != "NHWC") {
    fail(ExitCode::kInput, fmt::format("'{}': input layout '{}' is not NCHW or NHWC", sidecar_path(path).string(), a.layout));
  }
  return a;
}

Artifact describe(const fs::path& given) {
  std::error_code ec;
  const fs::path path = given.has_filename() ? given : given.parent_path();  // "model.savedmodel/"
  if (fs::is_directory(path, ec)) {
    if (!fs::is_regular_file(path / "saved_model.pb", ec) && path.extension() != ".savedmodel") {
      fail(ExitCode::kInput, fmt::format("'{}': a folder, not a model file (a folder is a model only as a TensorFlow "
                                         "SavedModel, with saved_model.pb in it)", path.string()));
    }
  } else if (!fs::is_regular_file(path, ec)) {
    fail(ExitCode::kInput, fmt::format("'{}': model file not found", path.string()));
  }
  const fs::path side = sidecar_path(path);
  if (fs::exists(side, ec)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file_text(side));
    } catch (const nlohmann::json::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': not valid JSON: {}", side.string(), e.what()));
    }
    return from_json(j, path);
  }
  Artifact a;
  a.path = path;
  a.format = format_of(path);
  a.layout = find_format(a.format).layout;
  return a;
}

void write_sidecar(const Artifact& a) { write_file_atomic(sidecar_path(a.path), dump_json(to_json(a), 2) + "\n"); }

std::vector<fs::path> artifacts_in(const fs::path& dir, bool with_checkpoints) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(ExitCode::kInput, fmt::format("'{}': not a folder of exports", dir.string()));
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto ext = e.path().extension().string();
    for (const FormatInfo& f : formats()) {
      if ((f.exported || with_checkpoints) && ext == f.extensions.front()) out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) {
    fail(ExitCode::kInput, fmt::format("'{}' holds no {} artifact", dir.string(), extension_list(false)));
  }
  return out;
}

}  // namespace inferbench::artifact
