#include "artifact/precision.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/error.h"

namespace inferbench::artifact {

namespace {

constexpr std::array<std::pair<Precision, std::string_view>, 4> kNames{{
    {Precision::kFP32, "fp32"},
    {Precision::kFP16, "fp16"},
    {Precision::kBF16, "bf16"},
    {Precision::kINT8, "int8"},
}};

}  // namespace

const std::vector<Precision>& all_precisions() {
  static const std::vector<Precision> all = [] {
    std::vector<Precision> v;
    for (const auto& [p, name] : kNames) v.push_back(p);
    return v;
  }();
  return all;
}

std::string_view to_string(Precision p) {
  for (const auto& [q, name] : kNames)
    if (q == p) return name;
  throw std::logic_error("artifact::to_string: a Precision outside the enum");
}

Precision parse_precision(std::string_view text, std::string_view what) {
  for (const auto& [p, name] : kNames)
    if (name == text) return p;
  fail(ExitCode::kUsage, fmt::format("{}: unknown precision '{}' (expected {})", what, text, join(all_precisions())));
}

std::string join(const std::vector<Precision>& precisions) {
  std::vector<std::string_view> names;
  for (const Precision p : precisions) names.push_back(to_string(p));
  return fmt::format("{}", fmt::join(names, ", "));
}

void to_json(nlohmann::json& j, Precision p) { j = std::string(to_string(p)); }

void from_json(const nlohmann::json& j, Precision& p) {
  const auto& s = j.get_ref<const std::string&>();
  for (const auto& [q, name] : kNames) {
    if (name == s) {
      p = q;
      return;
    }
  }
  throw nlohmann::json::type_error::create(302, fmt::format("unknown precision '{}' (expected {})", s,
                                                            join(all_precisions())), &j);
}

}  // namespace inferbench::artifact
