#include "pipeline/config_schema.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "common/error.h"
#include "pipeline/commands.h"

namespace inferbench::pipeline {

using nlohmann::json;

const std::vector<KeySpec>& config_keys() {
  using T = ValueType;
  static const std::vector<KeySpec> keys{
      {"data", T::kStringOrNull, {}, "dataset folder; null for the built-in synthetic fruit set"},
      {"synth", T::kObject, {}, "flags of `data synth` (when data is null)"},
      {"scan", T::kObject, {}, "flags of `data scan`"},
      {"split", T::kObject, {}, "flags of `data split`"},
      {"tensors", T::kObject, {}, "flags of `data export-tensors` besides --size"},
      {"models", T::kList, T::kObject, "the architectures to train, each once: replaces the whole default list"},
      {"models[].model", T::kString, {}, "architecture (mobilenet_v2, efficientnet_b0, resnet50)"},
      {"models[].size", T::kInteger, {}, "training and inference image size, pixels"},
      {"models[].train", T::kObject, {}, "flags of `train`"},
      {"export", T::kObject, {}, "flags of `export`"},
      {"verify", T::kObject, {}, "flags of `verify`"},
      {"bench", T::kObject, {}, "a bench plan (`bench --plan`) without artifacts, tensors and verify_reports"},
      {"bench.backends", T::kList, T::kString, "backends to run (default: every available one)"},
      {"bench.scenarios", T::kList, T::kString, "single-stream, batch, offline, cold-start"},
      {"bench.batches", T::kList, T::kInteger, "batch sizes of the batch scenario"},
      {"bench.threads", T::kList, T::kInteger, "intra-op thread counts (0: the backend's default)"},
      {"bench.options", T::kObject, {}, "per-backend options: {backend: {key: value}}"},
      {"bench.precisions", T::kList, T::kString, "compute precisions asked of backends that take one (auto: this CPU's)"},
      {"bench.timing", T::kObject, {}, "how long each run is timed"},
      {"bench.timing.warmup_count", T::kInteger, {}, "untimed requests first"},
      {"bench.timing.warmup_seconds", T::kNumber, {}, "untimed seconds first"},
      {"bench.timing.min_count", T::kInteger, {}, "at least this many timed requests"},
      {"bench.timing.min_seconds", T::kNumber, {}, "for at least this long"},
      {"bench.timing.max_count", T::kInteger, {}, "at most this many (0: no limit)"},
      {"bench.timing.max_seconds", T::kNumber, {}, "at most this long (a run cut short is marked so)"},
      {"bench.timing.ci_target", T::kNumber, {}, "early stopping: the median's 95% interval / median to stop at (0: off)"},
      {"bench.timing.ci_min_count", T::kInteger, {}, "early stopping: not before this many requests"},
      {"bench.cold_runs", T::kInteger, {}, "fresh workers of the cold-start scenario"},
      {"bench.concurrency", T::kInteger, {}, "callers of the offline scenario"},
      {"bench.order", T::kString, {}, "interleaved or sequential"},
      {"bench.seed", T::kInteger, {}, "seed of the interleaved order"},
      {"bench.timeout_s", T::kNumber, {}, "a run's time limit, seconds"},
      {"bench.memory_bytes", T::kInteger, {}, "a worker's memory limit, bytes (0: none)"},
      {"report", T::kObject, {}, "flags of `report`"},
  };
  return keys;
}

const std::vector<std::pair<std::string, std::vector<std::string>>>& section_commands() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> table{
      {"synth", {"data", "synth"}},
      {"scan", {"data", "scan"}},
      {"split", {"data", "split"}},
      {"tensors", {"data", "export-tensors"}},
      {"train", {"train"}},
      {"export", {"export"}},
      {"verify", {"verify"}},
      {"report", {"report"}},
  };
  return table;
}

std::string describe(ValueType type, ValueType element) {
  switch (type) {
    case ValueType::kBool: return "true or false";
    case ValueType::kInteger: return "an integer";
    case ValueType::kNumber: return "a number";
    case ValueType::kString: return "a string";
    case ValueType::kStringOrNull: return "a string or null";
    case ValueType::kObject: return "an object";
    case ValueType::kList: {
      std::string e = describe(element);
      e = e.substr(e.find(' ') + 1);  // "an integer" -> "integer"
      return fmt::format("a list of {}s", e);
    }
  }
  return "?";
}

std::string nearest_key(std::string_view key, const std::vector<std::string>& known) {
  const std::size_t limit = std::clamp<std::size_t>(key.size() / 3, 1, 3);
  std::string best;
  std::size_t best_d = limit + 1;
  for (const auto& k : known) {
    // Edit distance with adjacent transpositions ("titel" -> "title" is one edit).
    std::vector<std::vector<std::size_t>> d(key.size() + 1, std::vector<std::size_t>(k.size() + 1));
    for (std::size_t i = 0; i <= key.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= k.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= key.size(); ++i) {
      for (std::size_t j = 1; j <= k.size(); ++j) {
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (key[i - 1] == k[j - 1] ? 0 : 1)});
        if (i > 1 && j > 1 && key[i - 1] == k[j - 2] && key[i - 2] == k[j - 1]) {
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    const std::size_t distance = d[key.size()][k.size()];
    if (distance < best_d) {
      best_d = distance;
      best = k;
    }
  }
  return best;
}

namespace {

bool integer_text(const std::string& s) {
  std::int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool number_text(const std::string& s) {
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Does `v` have type `t`? `text_ok`: a string holding a number will do for a
// number (a flag's value becomes text on the command line anyway).
bool matches(const json& v, ValueType t, bool text_ok) {
  switch (t) {
    case ValueType::kBool: return v.is_boolean();
    case ValueType::kInteger:
      return v.is_number_integer() || (text_ok && v.is_string() && integer_text(v.get<std::string>()));
    case ValueType::kNumber: return v.is_number() || (text_ok && v.is_string() && number_text(v.get<std::string>()));
    case ValueType::kString: return v.is_string() || (text_ok && v.is_number());
    case ValueType::kStringOrNull: return v.is_string() || v.is_null();
    case ValueType::kObject: return v.is_object();
    case ValueType::kList: return v.is_array();
  }
  return false;
}

std::string did_you_mean(std::string_view key, const std::vector<std::string>& known) {
  const std::string near = nearest_key(key, known);
  return near.empty() ? "" : fmt::format("; did you mean '{}'?", near);
}

// A flag's value as to_flags writes it on the command line.
std::string rendered(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  return fmt::format("{}", v.get<double>());
}

void check_flags(const json& flags, std::string_view section, const FlagSchema& schema, const std::string& source,
                 const std::string& where) {
  if (!flags.is_object()) {
    fail(ExitCode::kInput, fmt::format("'{}': {}: expected an object of flags, got {}", source, where, flags.dump()));
  }
  const auto it = schema.find(section);
  const auto cmd = std::find_if(section_commands().begin(), section_commands().end(),
                                [&](const auto& e) { return e.first == section; });
  if (it == schema.end() || cmd == section_commands().end()) {
    fail(ExitCode::kInternal, fmt::format("no flag schema for the config section '{}'", section));
  }
  const std::string command = fmt::format("inferbench {}", fmt::join(cmd->second, " "));
  std::vector<std::string> known;
  for (const auto& f : it->second) known.push_back(f.name);
  for (const auto& [key, v] : flags.items()) {
    std::string name = key.rfind("--", 0) == 0 ? key.substr(2) : key;
    std::replace(name.begin(), name.end(), '_', '-');
    const auto spec = std::find_if(it->second.begin(), it->second.end(), [&](const FlagSpec& f) { return f.name == name; });
    const std::string path = fmt::format("{}.{}", where, key);
    if (spec == it->second.end()) {
      fail(ExitCode::kInput, fmt::format("'{}': {}: unknown key: `{}` has no flag --{}{}", source, path, command, name,
                                         did_you_mean(name, known)));
    }
    std::vector<const json*> values;
    bool typed = true;
    if (spec->list && v.is_array()) {
      for (const auto& x : v) {
        values.push_back(&x);
        typed = typed && matches(x, spec->type, true);
      }
    } else {
      values.push_back(&v);
      typed = matches(v, spec->type, true);
    }
    if (!typed) {
      const std::string expected = spec->list ? fmt::format("{} (or a list of them)", describe(spec->type))
                                              : describe(spec->type);
      fail(ExitCode::kInput, fmt::format("'{}': {}: expected {} (`{} --{}`), got {}", source, path, expected, command,
                                         name, v.dump()));
    }
    if (spec->type == ValueType::kBool) continue;
    for (const json* x : values) {
      const std::string text = rendered(*x);
      std::vector<std::string> parts;
      if (spec->list) {
        std::size_t start = 0;
        for (std::size_t comma; (comma = text.find(',', start)) != std::string::npos; start = comma + 1) {
          parts.push_back(text.substr(start, comma - start));
        }
        parts.push_back(text.substr(start));
      } else {
        parts.push_back(text);
      }
      for (const auto& part : parts) {
        for (const auto& check : spec->checks) {
          const std::string why = check(part);
          if (!why.empty()) {
            fail(ExitCode::kInput, fmt::format("'{}': {}: {} is refused by `{} --{}`: {}", source, path,
                                               json(part).dump(), command, name, why));
          }
        }
      }
    }
  }
}

// The structural keys under `prefix` ("bench.", "bench.timing.") of `object`.
void check_structure(const json& object, const std::string& prefix, const std::string& source) {
  std::vector<std::string> known;
  for (const auto& k : config_keys()) {
    if (k.path.rfind(prefix, 0) == 0 && k.path.find('.', prefix.size()) == std::string::npos) {
      known.push_back(k.path.substr(prefix.size()));
    }
  }
  for (const auto& [key, v] : object.items()) {
    const std::string path = prefix + key;
    const auto spec =
        std::find_if(config_keys().begin(), config_keys().end(), [&](const KeySpec& k) { return k.path == path; });
    if (spec == config_keys().end()) {
      fail(ExitCode::kInput, fmt::format("'{}': {}: unknown key (known: {}){}", source, path, fmt::join(known, ", "),
                                         did_you_mean(key, known)));
    }
    bool ok = matches(v, spec->type, false);
    if (ok && spec->type == ValueType::kList) {
      for (const auto& x : v) ok = ok && matches(x, spec->element, false);
    }
    if (!ok) {
      fail(ExitCode::kInput,
           fmt::format("'{}': {}: expected {}, got {}", source, path, describe(spec->type, spec->element), v.dump()));
    }
    if (spec->type == ValueType::kObject && key != "options") check_structure(v, path + ".", source);
  }
}

}  // namespace

void check_config(const json& config, const FlagSchema& flags, const std::string& source) {
  for (const auto& section : flag_sections()) {
    if (section != "train" && config.contains(section)) check_flags(config[section], section, flags, source, section);
  }
  if (config.contains("models") && config["models"].is_array()) {
    for (std::size_t i = 0; i < config["models"].size(); ++i) {
      const json& m = config["models"][i];
      if (m.is_object() && m.contains("train")) {
        check_flags(m["train"], "train", flags, source, fmt::format("models[{}].train", i));
      }
    }
  }
  if (config.contains("bench") && config["bench"].is_object()) check_structure(config["bench"], "bench.", source);
}

}  // namespace inferbench::pipeline
