#include "train/checkpoint.h"

#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "inferbench/build_info.h"

namespace inferbench::train {

namespace fs = std::filesystem;

void save_checkpoint(const fs::path& path, const model::Graph& graph,
                     const std::vector<std::pair<std::string, torch::Tensor>>& state,
                     const std::vector<std::string>& classes, const data::PreprocessConfig& preprocess,
                     nlohmann::json meta, const std::string& optimizer_state) {
  meta["format"] = kCheckpointFormat;
  meta["version"] = kCheckpointVersion;
  meta["inferbench"] = {{"version", build::kVersion}, {"commit", build::kGitCommit}};
  meta["architecture"] = graph.architecture;
  meta["classes"] = classes;
  meta["preprocess"] = preprocess;
  meta["ir"] = graph;
  meta["saved_at_unix"] =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();

  c10::Dict<std::string, torch::Tensor> tensors;
  for (const auto& [name, t] : state) tensors.insert(name, t.detach().cpu().contiguous());
  c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
  top.insert("format", std::string(kCheckpointFormat));
  top.insert("version", static_cast<int64_t>(kCheckpointVersion));
  top.insert("meta", dump_json(meta, -1));
  top.insert("state_dict", tensors);
  if (!optimizer_state.empty()) {
    auto bytes = torch::empty({static_cast<int64_t>(optimizer_state.size())}, torch::kUInt8);
    std::memcpy(bytes.data_ptr(), optimizer_state.data(), optimizer_state.size());
    top.insert("optimizer", bytes);
  }
  const std::vector<char> data = torch::pickle_save(top);
  write_file_atomic(path, data.data(), data.size());
}

Checkpoint load_checkpoint(const fs::path& path) {
  const std::string where = path.string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    fail(ExitCode::kInput, fmt::format("checkpoint '{}' does not exist (train one with `inferbench train`)", where));
  }
  const auto bytes = read_file_bytes(path);
  c10::IValue top;
  try {
    top = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    fail(ExitCode::kInput, fmt::format("'{}' is not a readable checkpoint: {}", where, what));
  }
  if (!top.isGenericDict()) fail(ExitCode::kInput, fmt::format("'{}' is not an inferbench checkpoint", where));
  const auto dict = top.toGenericDict();
  auto get = [&](const char* key) -> c10::IValue {
    auto it = dict.find(key);
    if (it == dict.end()) fail(ExitCode::kInput, fmt::format("'{}' is not an inferbench checkpoint (no '{}')", where, key));
    return it->value();
  };
  if (!get("format").isString() || get("format").toStringRef() != kCheckpointFormat) {
    fail(ExitCode::kInput, fmt::format("'{}' is not an inferbench checkpoint", where));
  }
  const auto version = get("version").toInt();
  if (version > kCheckpointVersion) {
    fail(ExitCode::kInput, fmt::format("checkpoint '{}' has format version {}, newer than this inferbench reads ({}); "
                                       "upgrade inferbench",
                                       where, version, kCheckpointVersion));
  }
  Checkpoint ck;
  try {
    ck.meta = nlohmann::json::parse(get("meta").toStringRef());
    ck.graph = ck.meta.at("ir").get<model::Graph>();
    ck.classes = ck.meta.at("classes").get<std::vector<std::string>>();
    ck.preprocess = ck.meta.at("preprocess").get<data::PreprocessConfig>();
  } catch (const Error& e) {
    fail(ExitCode::kInput, fmt::format("checkpoint '{}': {}", where, e.what()));
  } catch (const nlohmann::json::exception& e) {
    fail(ExitCode::kInput, fmt::format("checkpoint '{}' has malformed metadata: {}", where, e.what()));
  }
  for (const auto& item : get("state_dict").toGenericDict()) {
    ck.state.emplace(item.key().toStringRef(), item.value().toTensor());
  }
  if (auto it = dict.find("optimizer"); it != dict.end()) {
    const auto t = it->value().toTensor().contiguous();
    ck.optimizer_state.assign(static_cast<const char*>(t.data_ptr()), static_cast<std::size_t>(t.numel()));
  }
  if (static_cast<std::int64_t>(ck.classes.size()) != ck.graph.num_classes) {
    fail(ExitCode::kInput, fmt::format("checkpoint '{}' names {} classes but its model has {} outputs", where,
                                       ck.classes.size(), ck.graph.num_classes));
  }
  return ck;
}

}  // namespace inferbench::train
