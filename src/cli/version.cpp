#include <fmt/format.h>
#include <xxhash.h>

#include <CLI/Version.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core/version.hpp>

#include "cli/commands.h"
#include "inferbench/build_info.h"

namespace inferbench::cli {

std::string version_text() {
  namespace b = inferbench::build;
  std::string s = fmt::format("inferbench {} (commit {})\n", b::kVersion, b::kGitCommit);
  s += fmt::format("build: {}{}, {}\n", b::kBuildType, *b::kSanitizers ? fmt::format(" + sanitizers {}", b::kSanitizers) : "",
                   b::kCompiler);
  s += fmt::format("libraries: OpenCV {}, fmt {}.{}.{}, nlohmann_json {}.{}.{}, CLI11 {}, xxHash {}\n", CV_VERSION,
                   FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100, NLOHMANN_JSON_VERSION_MAJOR,
                   NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH, CLI11_VERSION,
                   fmt::format("{}.{}.{}", XXH_VERSION_MAJOR, XXH_VERSION_MINOR, XXH_VERSION_RELEASE));
  return s;
}

}  // namespace inferbench::cli
