#include "artifact/identity.h"

#include <algorithm>
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

std::vector<fs::path> artifact_files(const fs::path& artifact) {
  std::error_code ec;
  std::vector<fs::path> out;
  if (fs::is_directory(artifact, ec)) {
    for (auto it = fs::recursive_directory_iterator(artifact, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file(ec)) out.push_back(it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  if (fs::exists(artifact, ec)) out.push_back(artifact);
  if (artifact.extension() == ".xml") {
    fs::path bin = artifact;
    bin.replace_extension(".bin");
    if (fs::exists(bin, ec)) out.push_back(bin);
  }
  return out;
}

std::string content_identity(const fs::path& artifact) {
  std::error_code ec;
  if (fs::is_directory(artifact, ec)) {
    std::string listing;
    for (const fs::path& f : artifact_files(artifact)) {
      listing += fs::relative(f, artifact).generic_string() + " " + file_hash(f) + "\n";
    }
    return content_hash(listing);
  }
  const std::string own = file_hash(artifact);
  if (artifact.extension() != ".xml") return own;
  fs::path bin = artifact;
  bin.replace_extension(".bin");
  return content_hash(own + "+" + file_hash(bin));
}

}  // namespace inferbench::artifact
