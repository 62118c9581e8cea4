#pragma once
// Whole numbers from outside JSON, checked. nlohmann's get<int>() converts a
// float without a check (1.5 becomes 1; 1e30 is undefined behaviour) and an
// integer out of range by wrapping (2^32 + 1 becomes 1), so a parser of
// outside JSON takes its whole numbers through here (the fuzz harnesses,
// fuzz/, found the undefined conversions).
#include <nlohmann/json.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace inferbench {

// The value as a T: nullopt when it is not a JSON integer or out of T's range.
template <std::integral T>
std::optional<T> whole_number(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (!std::in_range<T>(u)) return std::nullopt;
    return static_cast<T>(u);
  }
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (!std::in_range<T>(i)) return std::nullopt;
    return static_cast<T>(i);
  }
  return std::nullopt;
}

// A JSON array of such numbers: nullopt when it is not an array or one is not.
template <std::integral T>
std::optional<std::vector<T>> whole_numbers(const nlohmann::json& v) {
  if (!v.is_array()) return std::nullopt;
  std::vector<T> out;
  out.reserve(v.size());
  for (const auto& e : v) {
    const auto x = whole_number<T>(e);
    if (!x) return std::nullopt;
    out.push_back(*x);
  }
  return out;
}

}  // namespace inferbench
