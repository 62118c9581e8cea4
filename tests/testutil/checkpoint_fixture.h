#pragma once
// A checkpoint for export and backend tests, made without training: the
// architecture's initial weights with randomised batch-norm statistics and
// affine parameters (so folding is exercised, not the identity it is on a
// fresh network), saved exactly as `inferbench train` saves one.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace inferbench::testutil {

struct CheckpointSpec {
  std::string architecture = "mobilenet_v2";
  std::int64_t classes = 3;
  int image_size = 32;
  std::uint64_t seed = 7;
  double width_mult = 1.0;  // mobilenet_v2 only; 0.25 keeps tests fast
};

std::filesystem::path make_checkpoint(const std::filesystem::path& dir, const CheckpointSpec& spec = {});

// The reference every backend test compares with: the checkpoint's own
// LibTorch module (unfolded, eval mode, no grad) on an NCHW batch of n images
// of size x size; logits [n, classes] row-major.
std::vector<float> reference_logits(const std::filesystem::path& checkpoint, const std::vector<float>& batch,
                                    std::int64_t n, int size);

// A preprocessed batch like the test split's: N x 3 x size x size floats drawn
// from N(0, 1) with `seed`.
std::vector<float> random_batch(std::int64_t n, int size, std::uint64_t seed);

}  // namespace inferbench::testutil
