#include "backends/backend.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

#include "common/error.h"

namespace inferbench::backends {

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

bool BackendInfo::takes_format(std::string_view format) const {
  return std::find(formats.begin(), formats.end(), format) != formats.end();
}

std::string BackendInfo::refusal(const artifact::Artifact& a) const {
  if (!takes_format(a.format)) return fmt::format("backend '{}' does not load {} files", name, a.format);
  if (std::find(precisions.begin(), precisions.end(), a.precision) == precisions.end()) {
    return fmt::format("backend '{}' loads {} artifacts, not {}", name, artifact::join(precisions),
                       artifact::to_string(a.precision));
  }
  return {};
}

BackendInfo with_runtime(BackendInfo info, BackendRuntime runtime) {
  info.available = true;
  info.reason.clear();
  info.version = std::move(runtime.version);
  info.create = std::move(runtime.create);
  return info;
}

BackendInfo unavailable(BackendInfo info, std::string reason) {
  info.available = false;
  info.reason = std::move(reason);
  info.version.clear();
  info.create = nullptr;
  return info;
}

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

std::vector<PrecisionVariant> precision_variants(const BackendInfo& info, const artifact::Artifact& a,
                                                 const Options& given, const std::vector<artifact::Precision>& asked) {
  using artifact::Precision;
  if (a.precision != Precision::kFP32) return {{a.precision, given}};
  if (!info.precision_option.empty()) {
    if (const auto it = given.find(info.precision_option); it != given.end()) {
      for (const ComputePrecision& c : info.compute) {
        if (c.value == it->second) return {{c.precision, given}};
      }
      return {{a.precision, given}};
    }
  }
  if (std::find(info.compute_formats.begin(), info.compute_formats.end(), a.format) == info.compute_formats.end()) {
    return {{a.precision, given}};
  }
  std::vector<PrecisionVariant> out;
  const std::vector<Precision> wanted = asked.empty() ? std::vector<Precision>{Precision::kFP32} : asked;
  for (Precision p : artifact::all_precisions()) {  // in table order, whatever order they were asked in
    if (std::find(wanted.begin(), wanted.end(), p) == wanted.end()) continue;
    if (p == Precision::kFP32) {
      out.push_back({p, given});
      continue;
    }
    for (const ComputePrecision& c : info.compute) {
      if (c.precision != p) continue;
      Options o = given;
      o[info.precision_option] = c.value;
      out.push_back({p, std::move(o)});
    }
  }
  return out;
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
