#include "backends/backend.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <system_error>

#include "common/error.h"
#include "common/files.h"
#include "common/json.h"

namespace inferbench::backends {

namespace fs = std::filesystem;

Options parse_options(const std::vector<std::string>& entries) {
  Options out;
  for (const std::string& e : entries) {
    const auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0) {
      fail(ExitCode::kUsage, fmt::format("backend option '{}' is not of the form key=value", e));
    }
    const std::string key = e.substr(0, eq);
    if (!out.emplace(key, e.substr(eq + 1)).second) {
      fail(ExitCode::kUsage, fmt::format("backend option '{}' is given twice", key));
    }
  }
  return out;
}

std::string format_of(const fs::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".ckpt") return "checkpoint";
  if (ext == ".pt" || ext == ".pth" || ext == ".torchscript") return "torchscript";
  if (ext == ".onnx") return "onnx";
  if (ext == ".xml") return "openvino";
  fail(ExitCode::kUsage, fmt::format("'{}': unknown model format '{}' (expected .ckpt, .pt, .onnx or .xml)",
                                     path.string(), ext.empty() ? std::string("no extension") : ext));
}

fs::path sidecar_path(const fs::path& artifact) { return fs::path(artifact.string() + ".json"); }

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

Artifact artifact_from_json(const nlohmann::json& j, const fs::path& path) {
  Artifact a;
  a.path = path;
  try {
    a.format = j.at("format").get<std::string>();
    a.precision = j.value("precision", "fp32");
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

Artifact describe_artifact(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
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
    return artifact_from_json(j, path);
  }
  Artifact a;
  a.path = path;
  a.format = format_of(path);
  return a;
}

std::vector<fs::path> artifacts_in(const fs::path& dir, bool with_checkpoints) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(ExitCode::kInput, fmt::format("'{}': not a folder of exports", dir.string()));
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto ext = e.path().extension().string();
    if (ext == ".pt" || ext == ".onnx" || ext == ".xml" || (with_checkpoints && ext == ".ckpt")) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) fail(ExitCode::kInput, fmt::format("'{}' holds no .pt, .onnx or .xml artifact", dir.string()));
  return out;
}

void write_sidecar(const Artifact& a) { write_file_atomic(sidecar_path(a.path), dump_json(to_json(a), 2) + "\n"); }

void check_options(const BackendInfo& info, const Options& options) {
  for (const auto& [key, value] : options) {
    bool known = false;
    for (const OptionSpec& s : info.options) known = known || s.key == key;
    if (!known) {
      std::vector<std::string> keys;
      for (const OptionSpec& s : info.options) keys.push_back(s.key);
      fail(ExitCode::kUsage, fmt::format("backend '{}' has no option '{}' (it takes: {})", info.name, key,
                                         keys.empty() ? std::string("none") : fmt::format("{}", fmt::join(keys, ", "))));
    }
  }
}

std::unique_ptr<Backend> create_backend(const BackendInfo& info) {
  if (!info.available || !info.create) {
    fail(ExitCode::kUnavailable, fmt::format("backend '{}' is unavailable: {}", info.name, info.reason));
  }
  return info.create();
}

std::string option_or(const Options& options, const std::string& key, const std::string& fallback) {
  const auto it = options.find(key);
  return it == options.end() ? fallback : it->second;
}

std::int64_t int_option(const Options& options, const std::string& backend, const std::string& key,
                        std::int64_t fallback, std::int64_t lo, std::int64_t hi) {
  const auto it = options.find(key);
  if (it == options.end()) return fallback;
  std::int64_t v = 0;
  const std::string& s = it->second;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi) {
    fail(ExitCode::kUsage,
         fmt::format("backend '{}': option {}='{}' is not an integer in [{}, {}]", backend, key, s, lo, hi));
  }
  return v;
}

std::string choice_option(const Options& options, const std::string& backend, const std::string& key,
                          const std::string& fallback, const std::vector<std::string>& choices) {
  const auto it = options.find(key);
  if (it == options.end()) return fallback;
  for (const std::string& c : choices)
    if (c == it->second) return c;
  fail(ExitCode::kUsage, fmt::format("backend '{}': option {}='{}' is not one of: {}", backend, key, it->second,
                                     fmt::join(choices, ", ")));
}

}  // namespace inferbench::backends
