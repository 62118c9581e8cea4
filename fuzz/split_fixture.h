#pragma once
// The fixed x.npy and y.npy beside the fuzzed meta.json of the split_tensors
// harness, and the meta.json that describes them (its seed). Shared by the
// harness and the seed generator so that the seed's hashes match.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <vector>

#include "common/files.h"
#include "common/hash.h"
#include "data/preprocess.h"
#include "data/tensor_file.h"

namespace inferbench::fuzz {

inline constexpr int kSplitCount = 2;
inline constexpr int kSplitSize = 4;

// Writes x.npy and y.npy into `dir`; returns the matching meta.json.
inline nlohmann::json write_split_fixture(const std::filesystem::path& dir) {
  std::vector<float> x(static_cast<std::size_t>(kSplitCount) * 3 * kSplitSize * kSplitSize);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.01F - 0.5F;
  const std::vector<std::int64_t> y{1, 0};
  data::write_npy(dir / "x.npy", x.data(), {kSplitCount, 3, kSplitSize, kSplitSize});
  data::write_npy(dir / "y.npy", y.data(), {kSplitCount});
  const auto hash_of = [&](const char* name) { return content_hash(read_file_bytes(dir / name)); };
  data::PreprocessConfig pre = data::PreprocessConfig::preset("imagenet", kSplitSize);
  return {{"format_version", data::kSplitTensorsFormatVersion},
          {"split", "test"},
          {"count", kSplitCount},
          {"classes", {"apple", "banana"}},
          {"preprocess", pre},
          {"layout", "nchw"},
          {"dtype", "float32"},
          {"shape", {kSplitCount, 3, kSplitSize, kSplitSize}},
          {"files", {{"x.npy", {{"hash", hash_of("x.npy")}}}, {"y.npy", {{"hash", hash_of("y.npy")}}}}},
          {"images",
           {{{"path", "/data/apple/1.jpg"}, {"hash", "00"}, {"label", 1}},
            {{"path", "/data/banana/2.jpg"}, {"hash", "01"}, {"label", 0}}}}};
}

}  // namespace inferbench::fuzz
