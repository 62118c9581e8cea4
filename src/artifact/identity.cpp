#include "artifact/identity.h"

#include <cstdint>
#include <span>
#include <vector>

#include "common/files.h"
#include "common/hash.h"

namespace inferbench::artifact {

namespace fs = std::filesystem;

namespace {

std::string file_hash(const fs::path& p) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(p);
  return content_hash(std::span<const std::uint8_t>(bytes));
}

}  // namespace

std::string content_identity(const fs::path& artifact) {
  const std::string own = file_hash(artifact);
  if (artifact.extension() != ".xml") return own;
  fs::path bin = artifact;
  bin.replace_extension(".bin");
  return content_hash(own + "+" + file_hash(bin));
}

}  // namespace inferbench::artifact
