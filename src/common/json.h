#pragma once
// JSON output that never throws on file names that are not valid UTF-8
// (Linux paths are bytes): invalid sequences are replaced with U+FFFD.
#include <nlohmann/json.hpp>
#include <string>

namespace inferbench {

inline std::string dump_json(const nlohmann::json& j, int indent = 2) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace inferbench
