#pragma once
// Noise for textures and backgrounds (internal to synth). Everything here is a
// pure function of its arguments (and, for noise_map, of the rng state), so
// output stays deterministic by seed.
#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>

#include "common/rng.h"

namespace inferbench::data::synth {

// Lattice value noise evaluated from a hash, so textures are defined in fruit
// units (independent of the output resolution) and need no tables. hash01,
// value_noise and fbm return values in [0, 1); they are inline because the
// painters call them for every pixel.
inline double hash01(std::int64_t x, std::int64_t y, std::uint64_t seed) {
  std::uint64_t h = seed + static_cast<std::uint64_t>(x) * 0x9E3779B97F4A7C15ULL +
                    static_cast<std::uint64_t>(y) * 0xC2B2AE3D27D4EB4FULL;
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

inline double value_noise(double x, double y, std::uint64_t seed) {
  const double fx = std::floor(x);
  const double fy = std::floor(y);
  const auto ix = static_cast<std::int64_t>(fx);
  const auto iy = static_cast<std::int64_t>(fy);
  double tx = x - fx;
  double ty = y - fy;
  tx = tx * tx * (3.0 - 2.0 * tx);
  ty = ty * ty * (3.0 - 2.0 * ty);
  const double a = hash01(ix, iy, seed);
  const double b = hash01(ix + 1, iy, seed);
  const double c = hash01(ix, iy + 1, seed);
  const double d = hash01(ix + 1, iy + 1, seed);
  return a + (b - a) * tx + (c - a) * ty + (a - b - c + d) * tx * ty;
}

inline double fbm(double x, double y, std::uint64_t seed, int octaves) {
  double sum = 0, amp = 0.5, norm = 0;
  for (int o = 0; o < octaves; ++o) {
    sum += amp * value_noise(x, y, seed + static_cast<std::uint64_t>(o) * 0x51ED27ULL);
    norm += amp;
    x *= 2.03;
    y *= 2.03;
    amp *= 0.5;
  }
  return sum / norm;
}

// Smooth noise over a whole image: a small random grid scaled up. Much cheaper
// per pixel than value_noise, which matters for full-frame backgrounds.
// The result is CV_32F of `size`, values about 0..1 (cubic interpolation can
// overshoot slightly); draws (cells_x + 1) * (cells_y + 1) values from `rng`.
cv::Mat noise_map(cv::Size size, int cells_x, int cells_y, Rng& rng);

}  // namespace inferbench::data::synth
