// Small text helpers for test assertions.
#pragma once

#include <string>

namespace inferbench::testutil {

// Whether `needle` occurs anywhere in `hay`.
inline bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace inferbench::testutil
